/**
 * sqlservice: the session facade of Python's sqlservice for jOOQ users, asynchronous, over a HikariCP pool, with
 * Flyway migrations.
 *
 * <h2>Entry points</h2>
 * <ul>
 *   <li>{@link dev.sqlservice.Database}: built once per database with {@link dev.sqlservice.Database#builder()}
 *       (JDBC URL or your own {@link javax.sql.DataSource}, pool size, timeouts, executor, jOOQ
 *       {@link org.jooq.conf.Settings}, Flyway locations to migrate at build time); owns the pool and the default
 *       executor and closes them in {@link dev.sqlservice.Database#close()}.</li>
 *   <li>{@link dev.sqlservice.AsyncSession} ({@link dev.sqlservice.Database#session()}): {@code all},
 *       {@code first}, {@code one}, {@code oneOrNone}, {@code execute}, {@code save}, {@code saveAll} and
 *       {@code transaction}, each returning a {@link java.util.concurrent.CompletionStage}.</li>
 *   <li>{@link dev.sqlservice.Session} ({@link dev.sqlservice.Database#blockingSession()}, or the session given
 *       to {@code transaction(work)}): the same verbs, blocking, on the calling thread.</li>
 * </ul>
 * Every verb takes a jOOQ {@link org.jooq.ResultQuery} or {@link org.jooq.Query} (attached or not: it runs on
 * the session's configuration), or plain SQL with {@code :named} parameters and a {@link java.util.Map} of
 * values, which are always bound, never spliced into the SQL. {@code save} and {@code saveAll} write
 * {@link org.jooq.UpdatableRecord}s as upserts in the database ({@code INSERT ... ON CONFLICT} on the primary
 * key on PostgreSQL), parents first, all or nothing.
 *
 * <h2>Threads</h2>
 * <ul>
 *   <li>{@code Database}, {@code AsyncSession} and the session of {@code blockingSession()} are thread-safe:
 *       build one {@code Database} per database and share it.</li>
 *   <li>{@code AsyncSession} work runs on the database's executor: by default at most {@code poolSize} virtual
 *       threads taking calls from one queue in arrival order, unless the builder was given an
 *       {@link java.util.concurrent.Executor} (which {@code close()} then leaves alone). Each call outside a
 *       transaction borrows a pooled connection for its own duration; callers queue in arrival order when the
 *       pool is busy. With the default executor, a platform thread that calls {@code join()} on the stage of a
 *       query or save that is next in line, with nothing attached to the stage yet, while a worker place and a
 *       connection are free, runs the call itself (in that place) instead of waiting idle for a virtual
 *       thread to start, run it and wake it (a fork/join pool's joining thread helps the same way): the call's
 *       connection wait, timeouts and cancel are the same, an interrupt of the joining thread is kept for it as
 *       {@code join()} keeps it, and transaction work never runs there. Virtual threads never run a call they
 *       join.</li>
 *   <li>Callbacks attached to a stage before its call ends ({@code thenApply}, {@code whenComplete}, ...) never
 *       run on one of the default executor's workers: they run on a virtual thread that is not, or no longer, a
 *       worker, or on a thread that joins the stage (as {@link java.util.concurrent.CompletableFuture#join} may
 *       run them), so they may block, even on other calls. With your own executor they run on the thread of
 *       yours that ran the call. Callbacks attached after the stage completed run on the thread that attaches
 *       them (plain {@link java.util.concurrent.CompletableFuture} rules).</li>
 *   <li>A transaction's work runs on one executor thread, on one connection. The {@code Session} it is given may
 *       be used only on that thread and only until the work returns. On that thread, calls to the outer
 *       {@code AsyncSession} or blocking session run at once inside the same transaction, so they cannot wait for
 *       a second connection.</li>
 *   <li>jOOQ query objects are mutable: do not run the same instance in two calls at once.</li>
 * </ul>
 *
 * <h2>What can fail</h2>
 * <ul>
 *   <li>Misuse (a null query, SQL, map or work; a missing, unused or empty-collection parameter; an unterminated
 *       quote or comment; a record without a primary key, or the same record twice) throws at once, on the
 *       calling thread, before any SQL: {@link java.lang.NullPointerException} or
 *       {@link java.lang.IllegalArgumentException}.</li>
 *   <li>Everything that happens in the database fails with jOOQ's
 *       {@link org.jooq.exception.DataAccessException}, whose {@code sqlState()} is the driver's SQLState: thrown
 *       by {@code Session}, and the cause of an exceptionally completed stage of {@code AsyncSession}.
 *       {@code one} fails with {@link org.jooq.exception.NoDataFoundException} or
 *       {@link org.jooq.exception.TooManyRowsException}, {@code oneOrNone} with the latter. Waiting longer than
 *       the acquisition timeout for a connection fails with SQLState {@code 08001}.</li>
 *   <li>{@link dev.sqlservice.Database.Builder#build()} checks every option and throws
 *       {@link java.lang.IllegalArgumentException} naming the bad one; it throws {@code DataAccessException} when
 *       the database cannot be reached (messages name host and database, never the password) and Flyway's
 *       {@link org.flywaydb.core.api.FlywayException} when a migration fails.</li>
 *   <li>A call on a closed {@code Database} fails with {@link java.lang.IllegalStateException}.</li>
 * </ul>
 *
 * <p>Tests: the JUnit 5 harness, package {@code dev.sqlservice.testing}, is the artifact
 * {@code dev.sqlservice:sqlservice-testing}.
 */
package dev.sqlservice;
