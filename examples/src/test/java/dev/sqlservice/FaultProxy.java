package dev.sqlservice;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on 127.0.0.1 (an ephemeral port) in front of a server on 127.0.0.1, whose network faults are
 * switched at run time: {@link #pass()}, {@link #blackhole()} (a silent partition: nothing is forwarded in either
 * direction, no socket is closed, new connections are accepted and served no bytes), {@link #latency} per
 * direction, {@link #reset()} (every current connection ends with an RST on both sides) and {@link #heal()}.
 *
 * <p>Bytes held back by a blackhole are delivered, in order, when it heals, as TCP retransmission would after a
 * short partition; so is an end of stream (a peer that closed its socket during the partition), and an RST a peer
 * sent. What a userspace proxy cannot fake: the kernel still acknowledges TCP keepalive probes on both legs, so a
 * blackhole here is what a hung middlebox looks like, and only application-level timeouts (read timeouts,
 * liveness checks over another connection) see it; a real partition is also seen by TCP keepalive.
 *
 * <p>Only loopback: the target must be {@code 127.0.0.1} (or {@code localhost}, used as 127.0.0.1); anything else
 * is refused. Every connection uses four virtual threads (a reader and a writer per direction); {@link #close()}
 * ends and joins every thread the proxy started, and fails if one does not end.
 */
final class FaultProxy implements AutoCloseable {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int CHUNK = 16 * 1024;
    private static final int CHUNKS_IN_FLIGHT = 64;

    private final InetSocketAddress target;
    private final ServerSocket server;
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final Set<Integer> upstreamPorts = ConcurrentHashMap.newKeySet();
    private final Set<Integer> closedByClient = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger ids = new AtomicInteger();
    private final Object gate = new Object();
    /** How many times {@link #reset} has run: a connection accepted before a reset and linked after it is ended. */
    private final java.util.concurrent.atomic.AtomicLong resets = new java.util.concurrent.atomic.AtomicLong();
    /** The local port of {@link #reset}'s marker connection while it waits for the accept loop to reach it; 0: none. */
    private volatile int markerPort;
    private volatile java.util.concurrent.CountDownLatch markerAccepted;
    private volatile boolean blackholed;
    private volatile long clientToServerLatencyNanos;
    private volatile long serverToClientLatencyNanos;
    private volatile boolean closed;

    /**
     * Starts a proxy listening on 127.0.0.1, on an ephemeral port, forwarding to {@code host:port}.
     *
     * @param host {@code 127.0.0.1} or {@code localhost}; any other host is refused
     * @param port the target port
     * @throws IllegalArgumentException when the target is not on 127.0.0.1
     */
    FaultProxy(String host, int port) throws IOException {
        if (!"127.0.0.1".equals(host) && !"localhost".equalsIgnoreCase(host)) {
            throw new IllegalArgumentException("FaultProxy forwards to 127.0.0.1 only, not to " + host);
        }
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        if (!"127.0.0.1".equals(LOOPBACK.getHostAddress())) {
            throw new IllegalStateException("the loopback address is " + LOOPBACK.getHostAddress() + ", not 127.0.0.1");
        }
        this.target = new InetSocketAddress(LOOPBACK, port);
        this.server = new ServerSocket(0, 200, LOOPBACK);
        startThread("fault-proxy-accept", this::acceptLoop);
    }

    /** The port the proxy listens on (on 127.0.0.1). */
    int port() {
        return server.getLocalPort();
    }

    /**
     * The JDBC URL with its {@code host[:port]} replaced by this proxy's {@code 127.0.0.1:port}; everything else
     * (database, parameters) is kept.
     */
    String proxiedUrl(String jdbcUrl) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(jdbc:[a-z]+://)([^/?;]+)(.*)$").matcher(jdbcUrl);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a jdbc:<driver>://host[:port]/... URL");
        }
        return m.group(1) + "127.0.0.1:" + port() + m.group(3);
    }

    /** The host of a {@code jdbc:<driver>://host[:port]/...} URL. */
    static String hostOf(String jdbcUrl) {
        String authority = authorityOf(jdbcUrl);
        int colon = authority.lastIndexOf(':');
        return colon < 0 ? authority : authority.substring(0, colon);
    }

    /** The port of a {@code jdbc:<driver>://host[:port]/...} URL, or the driver's default port. */
    static int portOf(String jdbcUrl) {
        String authority = authorityOf(jdbcUrl);
        int colon = authority.lastIndexOf(':');
        if (colon >= 0) {
            return Integer.parseInt(authority.substring(colon + 1));
        }
        return jdbcUrl.startsWith("jdbc:postgresql:") ? 5432 : 3306;
    }

    private static String authorityOf(String jdbcUrl) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^jdbc:[a-z]+://([^/?;]+).*$").matcher(jdbcUrl);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a jdbc:<driver>://host[:port]/... URL");
        }
        return m.group(1);
    }

    /** Ends a blackhole: everything is forwarded again, with the latency set by {@link #latency}, if any. */
    void pass() {
        changeMode(false);
    }

    /**
     * A silent partition: nothing is forwarded in either direction, no socket is closed, no RST is sent; new
     * connections are accepted and served no bytes.
     */
    void blackhole() {
        changeMode(true);
    }

    /** Back to a healthy network: no blackhole, no latency. Bytes and ends of stream held back flow again. */
    void heal() {
        clientToServerLatencyNanos = 0;
        serverToClientLatencyNanos = 0;
        changeMode(false);
    }

    /**
     * Delays every chunk by the given time in each direction (a chunk is held until it is that old).
     *
     * @param clientToServer latency added to the bytes the client sends
     * @param serverToClient latency added to the bytes the server sends
     */
    void latency(Duration clientToServer, Duration serverToClient) {
        clientToServerLatencyNanos = clientToServer.toNanos();
        serverToClientLatencyNanos = serverToClient.toNanos();
        changeMode(blackholed);
    }

    private void changeMode(boolean blackhole) {
        synchronized (gate) {
            blackholed = blackhole;
            gate.notifyAll();
        }
    }

    /**
     * Ends every current connection with an RST on both sides ({@code SO_LINGER} 0, then close): those linked,
     * those accepted and still being linked, and those whose handshake was done but not yet accepted (the listen
     * backlog). The mode is unchanged: new connections are served as before.
     */
    synchronized void reset() {
        // Connections whose handshake is done but that the accept loop has not taken yet (the listen backlog) are
        // current too: a marker connection queued behind them is accepted after them, so once the loop reaches it
        // every earlier connection is accepted, linked or being linked under the epoch that ends here.
        drainBacklog();
        resets.incrementAndGet();
        for (Link link : List.copyOf(links)) {
            link.abort(true);
        }
    }

    private void drainBacklog() {
        if (closed) {
            return;
        }
        java.util.concurrent.CountDownLatch reached = new java.util.concurrent.CountDownLatch(1);
        try (Socket marker = new Socket()) {
            marker.bind(new InetSocketAddress(LOOPBACK, 0));
            markerAccepted = reached;
            markerPort = marker.getLocalPort();
            marker.connect(new InetSocketAddress(LOOPBACK, server.getLocalPort()), 2_000);
            if (!reached.await(2, TimeUnit.SECONDS)) {
                throw new IllegalStateException("FaultProxy.reset: the accept loop did not reach its marker in 2 s");
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("FaultProxy.reset: cannot queue its marker connection", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            markerPort = 0;
        }
    }

    /** How many connections the proxy has accepted since it started. */
    int acceptedConnections() {
        return accepted.get();
    }

    /** How many accepted connections are still open (neither side has been closed by the proxy). */
    int openConnections() {
        return links.size();
    }

    /**
     * How many accepted connections from the client socket bound to {@code clientPort} (its local port) are still
     * open: the count a test that made its own connections checks, which a stray connection of another test (a
     * late cancel or pool connection to a port this proxy took over) does not change.
     */
    int openConnectionsFrom(int clientPort) {
        int open = 0;
        for (Link link : links) {
            open += link.client.getPort() == clientPort ? 1 : 0;
        }
        return open;
    }

    /** The open connections, for a failure's message: id, the client's port, the first bytes it sent. */
    String describeOpen() {
        StringBuilder b = new StringBuilder();
        for (Link link : List.copyOf(links)) {
            b.append(b.isEmpty() ? "" : "; ").append('#').append(link.id).append(" from port ")
                    .append(link.client.getPort()).append(", first bytes ").append(link.firstBytes);
        }
        return b.isEmpty() ? "none" : b.toString();
    }

    /**
     * How many of the connections accepted up to {@code acceptedBefore} (the count {@link #acceptedConnections()}
     * returned then) the client has closed or reset: a library that aborts a connection shows here even while the
     * network is blackholed, because the proxy still reads from the client.
     */
    int closedByClientAmongFirst(int acceptedBefore) {
        return (int) closedByClient.stream().filter(id -> id <= acceptedBefore).count();
    }

    /**
     * The local ports of every connection the proxy opened to the server: the client ports the server sees
     * ({@code pg_stat_activity.client_port}, the port in {@code information_schema.processlist.host}).
     */
    Set<Integer> upstreamPorts() {
        return Set.copyOf(upstreamPorts);
    }

    /** How many threads the proxy is running now. */
    int threads() {
        return (int) threads.stream().filter(Thread::isAlive).count();
    }

    /**
     * Stops listening, closes every connection (a plain close, not an RST), then ends and joins every thread.
     *
     * @throws IllegalStateException when a thread of the proxy is still alive after 5 seconds
     */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Link link : List.copyOf(links)) {
            link.abort(false);
        }
        synchronized (gate) {
            gate.notifyAll();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (Thread thread : List.copyOf(threads)) {
            thread.interrupt();
        }
        for (Thread thread : List.copyOf(threads)) {
            try {
                thread.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        List<Thread> alive = threads.stream().filter(Thread::isAlive).toList();
        if (!alive.isEmpty()) {
            throw new IllegalStateException("FaultProxy threads still alive after close: " + alive);
        }
    }

    private void startThread(String name, Runnable body) {
        Thread thread = Thread.ofVirtual().name(name).unstarted(() -> {
            try {
                body.run();
            } finally {
                threads.remove(Thread.currentThread());
            }
        });
        threads.add(thread);
        thread.start();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            if (markerPort != 0 && client.getPort() == markerPort) {
                closeQuietly(client); // reset()'s marker: every connection queued before it has been accepted
                markerAccepted.countDown();
                continue;
            }
            long epoch = resets.get();
            int id = ids.incrementAndGet();
            accepted.incrementAndGet();
            startThread("fault-proxy-connect-" + id, () -> connect(id, client, epoch));
        }
    }

    private void connect(int id, Socket client, long epoch) {
        Socket upstream = new Socket();
        try {
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            upstream.bind(new InetSocketAddress(LOOPBACK, 0));
            upstreamPorts.add(upstream.getLocalPort());
            upstream.connect(target, 5_000);
        } catch (IOException e) {
            closeQuietly(client);
            closeQuietly(upstream);
            return;
        }
        Link link = new Link(id, client, upstream);
        links.add(link);
        if (closed) {
            link.abort(false);
            return;
        }
        if (resets.get() != epoch) {
            link.abort(true); // accepted before a reset that did not find it linked yet
            return;
        }
        link.startPumps();
    }

    /** One proxied connection: the client's socket, ours to the server, and a pump per direction. */
    private final class Link {
        private final int id;
        private final Socket client;
        private final Socket upstream;
        private final AtomicInteger finishedDirections = new AtomicInteger();
        private volatile boolean aborted;
        /** The first bytes the client sent (hex, at most 8), for {@link #describeOpen()}: a driver's startup or cancel. */
        private volatile String firstBytes = "(none yet)";

        Link(int id, Socket client, Socket upstream) {
            this.id = id;
            this.client = client;
            this.upstream = upstream;
        }

        void startPumps() {
            pump(client, upstream, true);
            pump(upstream, client, false);
        }

        /** A reader that queues what it reads (with the time it read it) and a writer that forwards it when due. */
        private void pump(Socket from, Socket to, boolean clientToServer) {
            BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(CHUNKS_IN_FLIGHT);
            String direction = clientToServer ? "up" : "down";
            startThread("fault-proxy-" + id + "-read-" + direction, () -> read(from, queue, clientToServer));
            startThread("fault-proxy-" + id + "-write-" + direction, () -> write(to, queue, clientToServer));
        }

        private void read(Socket from, BlockingQueue<Chunk> queue, boolean fromClient) {
            Kind end;
            try {
                InputStream in = from.getInputStream();
                byte[] buffer = new byte[CHUNK];
                while (true) {
                    int n = in.read(buffer);
                    if (n < 0) {
                        end = Kind.END;
                        break;
                    }
                    if (fromClient && firstBytes.startsWith("(")) {
                        firstBytes = java.util.HexFormat.of().formatHex(buffer, 0, Math.min(n, 8));
                    }
                    queue.put(new Chunk(Kind.DATA, java.util.Arrays.copyOf(buffer, n), System.nanoTime()));
                }
            } catch (IOException e) {
                end = Kind.RESET;
            } catch (InterruptedException e) {
                return; // the proxy is closing
            }
            if (fromClient && !aborted) {
                closedByClient.add(id);
            }
            try {
                queue.put(new Chunk(end, null, System.nanoTime()));
            } catch (InterruptedException ignored) {
                // the proxy is closing
            }
        }

        private void write(Socket to, BlockingQueue<Chunk> queue, boolean clientToServer) {
            try {
                OutputStream out = to.getOutputStream();
                while (true) {
                    Chunk chunk = queue.take();
                    if (!awaitDue(chunk, clientToServer)) {
                        return;
                    }
                    if (chunk.kind == Kind.END) {
                        to.shutdownOutput();
                        if (finishedDirections.incrementAndGet() == 2) {
                            abort(false);
                        }
                        return;
                    }
                    if (chunk.kind == Kind.RESET) {
                        abort(true);
                        return;
                    }
                    out.write(chunk.data);
                    out.flush();
                }
            } catch (IOException e) {
                abort(true);
            } catch (InterruptedException e) {
                // the proxy is closing
            }
        }

        /** Waits until the chunk may be forwarded: no blackhole and old enough; false when the proxy closes. */
        private boolean awaitDue(Chunk chunk, boolean clientToServer) throws InterruptedException {
            synchronized (gate) {
                while (true) {
                    if (closed || aborted) {
                        return false;
                    }
                    long latency = clientToServer ? clientToServerLatencyNanos : serverToClientLatencyNanos;
                    long wait = chunk.readAt + latency - System.nanoTime();
                    if (!blackholed && wait <= 0) {
                        return true;
                    }
                    long millis = blackholed ? 100 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait));
                    gate.wait(millis);
                }
            }
        }

        /**
         * Closes both sockets, with an RST when {@code reset}; idempotent. A second caller waits until the first has
         * closed the sockets and dropped the link, so after any call returns the link is no longer counted open.
         */
        void abort(boolean reset) {
            synchronized (this) {
                if (aborted) {
                    return;
                }
                aborted = true;
                for (Socket socket : new Socket[] {client, upstream}) {
                    if (reset) {
                        try {
                            socket.setSoLinger(true, 0);
                        } catch (SocketException ignored) {
                            // already closed
                        }
                    }
                    closeQuietly(socket);
                }
                links.remove(this);
            }
            synchronized (gate) {
                gate.notifyAll();
            }
        }
    }

    /** What a reader saw: bytes, the end of the stream, or an error (an RST, mostly). */
    private enum Kind { DATA, END, RESET }

    /** What a reader saw, and when, which is what latency counts from. */
    private record Chunk(Kind kind, byte[] data, long readAt) {}

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
