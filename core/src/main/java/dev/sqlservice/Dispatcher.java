package dev.sqlservice;

import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The default executor of {@link AsyncSession} calls: one FIFO queue, drained by at most {@code workers} virtual
 * threads (the pool size), started when calls arrive and ended when the queue is empty.
 *
 * <p>Why not a virtual thread per call: a call can only run while it holds one of the pool's connections, so
 * 10,000 calls issued at once would be 10,000 threads parked on the connection semaphore, each woken in turn;
 * that parking and waking cost more client CPU than the queries (measured: plain JDBC on a thread per query had
 * 0.62× the throughput of 10 platform threads). Here a worker that finishes a call takes the next one at once,
 * and a call waits in the queue as a plain object. The waiting keeps its limit: a {@link Job} still queued when
 * {@code acquisitionTimeout} has passed is expired (a sweep on the database's timer, and a check when a worker
 * takes it), exactly as if it had waited that long for a connection.
 */
final class Dispatcher implements Executor, AutoCloseable {

    /**
     * A queued call, in two steps: {@link #work} runs it and keeps its outcome, then {@link #finish} completes its
     * stage with that outcome, which runs the callbacks attached to the stage. Callbacks may block (even on other
     * calls), so they must never hold one of the few worker places: a worker gives its place up before
     * {@code finish()}, and takes one again afterwards only if one is free. Any other executor runs
     * {@code work()} and {@code finish()} in {@link #run}.
     */
    abstract static class Job implements Runnable {
        private static final java.lang.invoke.VarHandle CLAIMED;

        static {
            try {
                CLAIMED = java.lang.invoke.MethodHandles.lookup().findVarHandle(Job.class, "claimed", boolean.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final long queuedAt = System.nanoTime();
        /** Taken by a worker, the sweep, {@link #close} or a joining thread ({@link #help}): exactly one of them. */
        @SuppressWarnings("unused")
        private volatile boolean claimed;

        private boolean claim() {
            return CLAIMED.compareAndSet(this, false, true);
        }

        abstract void work();

        /** Completes the stage on this thread. */
        abstract void finish();

        /**
         * Fails the call: it waited longer than the acquisition timeout. Runs on a worker or the timer thread, so
         * it must hand the stage's callbacks to another thread.
         */
        abstract void expire();

        /** Fails the call: the database was closed before it started; must not run callbacks on this thread. */
        abstract void reject();

        @Override
        public final void run() {
            work();
            finish();
        }
    }

    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger workers = new AtomicInteger();
    private final int maxWorkers;
    private final long timeoutNanos;
    private final ThreadFactory factory;
    private final ScheduledFuture<?> sweep;
    private final Object idle = new Object();
    private static final ThreadLocal<Boolean> onWorker = new ThreadLocal<>();
    private volatile boolean closed;

    Dispatcher(int maxWorkers, Duration acquisitionTimeout, ScheduledExecutorService timer, ThreadFactory factory) {
        this.maxWorkers = maxWorkers;
        this.timeoutNanos = acquisitionTimeout.toNanos();
        this.factory = factory;
        long period = Math.clamp(timeoutNanos / 8, TimeUnit.MILLISECONDS.toNanos(5), TimeUnit.MILLISECONDS.toNanos(50));
        this.sweep = timer.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.NANOSECONDS);
    }

    /** Whether the current thread holds one of a dispatcher's worker places (callbacks must never run there). */
    static boolean isWorkerThread() {
        return Boolean.TRUE.equals(onWorker.get());
    }

    @Override
    public void execute(Runnable task) {
        if (closed) {
            throw new RejectedExecutionException("the Database is closed");
        }
        queue.add(task);
        startWorkerIfBelowLimit();
    }

    private void startWorkerIfBelowLimit() {
        for (int n = workers.get(); n < maxWorkers; n = workers.get()) {
            if (workers.compareAndSet(n, n + 1)) {
                try {
                    factory.newThread(this::work).start();
                } catch (RuntimeException | Error e) {
                    workers.decrementAndGet();
                    throw e;
                }
                return;
            }
        }
    }

    private void work() {
        boolean holding = true;
        onWorker.set(Boolean.TRUE);
        try {
            while (holding) {
                Runnable task = queue.poll();
                if (task == null) {
                    holding = giveUpPlace();
                    continue;
                }
                // A call must not inherit an interrupt left by the previous one (it would fail at once in the
                // connection semaphore).
                Thread.interrupted();
                try {
                    if (!(task instanceof Job job)) {
                        task.run();
                    } else if (!job.claim()) {
                        // a joining thread runs it (help)
                        continue;
                    } else if (overdue(job, System.nanoTime())) {
                        job.expire();
                    } else {
                        job.work();
                        // The place goes back before the stage completes: its callbacks run on this thread, but
                        // never while a queued call waits for the place. The place is taken again if still free.
                        workers.decrementAndGet();
                        holding = false;
                        onWorker.remove();
                        job.finish();
                        holding = !queue.isEmpty() && rejoin();
                        onWorker.set(holding ? Boolean.TRUE : null);
                    }
                } catch (Throwable t) {
                    // Jobs complete their own stages; whatever escapes one must not cost the queue its worker.
                    Thread.currentThread().getUncaughtExceptionHandler().uncaughtException(Thread.currentThread(), t);
                }
            }
        } finally {
            if (holding) {
                workers.decrementAndGet();
            }
            onWorker.remove();
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    /**
     * Leaves the queue. A call queued between the last poll and the decrement may have seen every worker busy and
     * started none: take it on, unless another worker has.
     *
     * @return whether this thread holds a place again
     */
    private boolean giveUpPlace() {
        workers.decrementAndGet();
        boolean holding = !queue.isEmpty() && rejoin();
        onWorker.set(holding ? Boolean.TRUE : null);
        return holding;
    }

    private boolean rejoin() {
        for (int n = workers.get(); n < maxWorkers; n = workers.get()) {
            if (workers.compareAndSet(n, n + 1)) {
                return true;
            }
        }
        return false;
    }

    private boolean overdue(Job job, long now) {
        return now - job.queuedAt > timeoutNanos;
    }

    /**
     * The sweep: fails the overdue calls (the queue is FIFO and every job has the same limit, so they are at its
     * head), and starts a worker for calls still queued while a place is free (its worker may be busy running a
     * stage's callbacks that block).
     */
    private void sweep() {
        long now = System.nanoTime();
        Runnable head;
        while ((head = queue.peek()) instanceof Job job && overdue(job, now)) {
            if (queue.remove(head) && job.claim()) {
                job.expire();
            }
        }
        if (!queue.isEmpty() && !closed) {
            try {
                startWorkerIfBelowLimit();
            } catch (RuntimeException | Error e) {
                // No thread to be had now; the next sweep tries again (an exception here would end the sweep).
            }
        }
    }

    /**
     * Runs a queued call on the current thread, which is about to wait for it (a fork/join pool's joining thread
     * helps the same way), when it is next in line (the head of the queue), a worker place and a connection are
     * free, and no worker, sweep or {@link #close} has taken it already. The call runs exactly as on a worker:
     * holding a worker place (so that at most {@code workers} calls run, {@link #close} waits for it, and no call
     * queued earlier can still be on its way to a connection), an overdue one expires. The place is given back
     * before {@code finish} completes the stage on this thread, so callbacks never hold it.
     *
     * @param connectionFree whether a connection can be had now without waiting behind another caller
     * @param claimed runs first, once the call is this thread's
     * @return whether this thread ran it; false when someone else has it, no place or connection is free, or the
     *     dispatcher is closed
     */
    boolean help(Job job, java.util.function.BooleanSupplier connectionFree, Runnable claimed) {
        // Only the call at the head of the queue, only when it would not wait for its connection behind others,
        // and only on a free worker place: a joining thread must neither jump the queue nor become one more
        // thread parked on the pool.
        if (closed || queue.peek() != job || !connectionFree.getAsBoolean() || !rejoin()) {
            return false;
        }
        // close() sets closed before it waits for the places: seen here, or close() waits for this one.
        if (closed || !job.claim()) {
            leave();
            return false;
        }
        // Out of the queue at once (it is at its head: cheap), so that the next call is at the head for its joiner.
        queue.remove(job);
        claimed.run();
        if (overdue(job, System.nanoTime())) {
            leave();
            job.expire();
            return true;
        }
        onWorker.set(Boolean.TRUE);
        try {
            job.work();
        } finally {
            onWorker.remove();
            leave();
        }
        job.finish();
        return true;
    }

    /**
     * Gives back a place a joining thread held; calls queued meanwhile may have found every place taken and
     * started no worker: one is started for them.
     */
    private void leave() {
        workers.decrementAndGet();
        if (!queue.isEmpty() && !closed) {
            try {
                startWorkerIfBelowLimit();
            } catch (RuntimeException | Error e) {
                // No thread to be had now: the sweep tries again.
            }
        }
        synchronized (idle) {
            idle.notifyAll();
        }
    }

    /**
     * Rejects new calls, fails the queued ones ({@link Job#reject}), then waits until the running calls have
     * finished (all but the caller's own, when a call closes the database), for at most the acquisition timeout:
     * a call stuck longer must not keep the database from closing.
     */
    @Override
    public void close() {
        closed = true;
        Runnable queued;
        while ((queued = queue.poll()) != null) {
            if (queued instanceof Job job && job.claim()) {
                job.reject();
            }
        }
        int self = Boolean.TRUE.equals(onWorker.get()) ? 1 : 0;
        boolean interrupted = false;
        long deadline = System.nanoTime() + timeoutNanos;
        synchronized (idle) {
            while (workers.get() > self && System.nanoTime() - deadline < 0) {
                try {
                    idle.wait(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        sweep.cancel(false);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
