package dev.sqlservice;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import org.postgresql.PGResultSetMetaData;
import org.postgresql.core.BaseConnection;
import org.postgresql.jdbc.TimestampUtils;

/**
 * Reads a {@code timestamptz} column of a pgjdbc result in binary format as jOOQ's default {@code OffsetDateTime}
 * binding returns it, without the text in between: for a direct read of a prepared query ({@link DirectRows}).
 *
 * <p>What jOOQ's binding does (its default, {@code bindOffsetDateTimeType} false): {@code getString}, then its own
 * parse of the text. For a binary column, pgjdbc makes that text from the 8 bytes the server sent: it decodes them
 * into an {@code OffsetDateTime} in UTC, moves it to the session's time zone ({@code
 * TimestampUtils.withClientOffsetSameInstant}: the zone the server reported, the one a text result would be in) and
 * formats it; jOOQ then parses it back. This reader takes the first two steps, pgjdbc's own ({@code getObject(i,
 * OffsetDateTime.class)} and {@code withClientOffsetSameInstant}), and skips the format and the parse, which give
 * back the same value whenever the text is plain {@code yyyy-MM-dd HH:mm:ss[.ffffff]+hh[:mm]}: a year of 1 to 9999,
 * an offset of whole minutes, not infinity. For any other value, and for text-format columns (a statement's first
 * runs, before pgjdbc prepares it on the server), {@link #read} answers {@link #THROUGH_JOOQ} and the caller reads
 * through jOOQ's binding. The tests compare both readings, value by value, in several session time zones.
 *
 * <p>One of the two classes of the core that refer to pgjdbc (with {@link PostgresCopy}); loaded only when a
 * PostgreSQL result is read and pgjdbc is on the class path ({@link #of} catches a {@link LinkageError} otherwise).
 */
final class PostgresTimestamps {

    /** {@link #read}'s answer when the value must be read through jOOQ's binding. */
    static final Object THROUGH_JOOQ = new Object();

    /** Off: every {@code timestamptz} is read through jOOQ's binding (for benchmarks and comparisons). */
    static volatile boolean enabled = !Boolean.getBoolean("sqlservice.prepared.timestampsThroughText");

    /** Whether pgjdbc's classes could be linked: false after a {@link LinkageError}, for the rest of the JVM. */
    private static volatile boolean linkable = true;

    /** How many values were read without text (in this JVM): for tests. */
    static final java.util.concurrent.atomic.LongAdder READ = new java.util.concurrent.atomic.LongAdder();

    private final ResultSet resultSet;
    private final TimestampUtils utils;

    private PostgresTimestamps(ResultSet resultSet, TimestampUtils utils) {
        this.resultSet = resultSet;
        this.utils = utils;
    }

    /**
     * The reader of {@code resultSet}'s binary {@code timestamptz} columns, or null when it is not pgjdbc's (or does
     * not unwrap to it), pgjdbc is absent, or the reader is off.
     */
    static PostgresTimestamps of(ResultSet resultSet) {
        if (!enabled || !linkable) {
            return null;
        }
        try {
            java.sql.Connection connection = resultSet.getStatement().getConnection();
            if (!connection.isWrapperFor(BaseConnection.class)) {
                return null;
            }
            return new PostgresTimestamps(resultSet, connection.unwrap(BaseConnection.class).getTimestampUtils());
        } catch (LinkageError e) {
            linkable = false;
            return null;
        } catch (SQLException | RuntimeException e) {
            return null;
        }
    }

    /** Whether column {@code index} (from 1) is a {@code timestamptz} the server sent in binary format. */
    boolean binaryTimestamptz(int index) {
        try {
            java.sql.ResultSetMetaData metaData = resultSet.getMetaData();
            return metaData.isWrapperFor(PGResultSetMetaData.class)
                    && metaData.unwrap(PGResultSetMetaData.class).getFormat(index) == 1
                    && "timestamptz".equals(metaData.getColumnTypeName(index));
        } catch (SQLException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The value of column {@code index} (from 1; a binary {@code timestamptz}, {@link #binaryTimestamptz}) in the
     * current row, as jOOQ's default binding would read it; null for SQL NULL; {@link #THROUGH_JOOQ} when its text
     * would not be the plain form (see the class comment). Runs on the calling thread; no I/O.
     *
     * @throws SQLException when pgjdbc cannot decode the value (the caller then reads through jOOQ, which fails as
     *     it fails)
     */
    Object read(int index) throws SQLException {
        OffsetDateTime utc = resultSet.getObject(index, OffsetDateTime.class);
        if (utc == null) {
            return null;
        }
        if (utc.equals(OffsetDateTime.MAX) || utc.equals(OffsetDateTime.MIN)) {
            return THROUGH_JOOQ;
        }
        OffsetDateTime local = utils.withClientOffsetSameInstant(utc);
        int year = local.getYear();
        if (year < 1 || year > 9999 || local.getOffset().getTotalSeconds() % 60 != 0) {
            return THROUGH_JOOQ;
        }
        READ.increment();
        return local;
    }
}
