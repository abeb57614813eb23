package dev.sqlservice;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * One of the two classes of the core that refer to pgjdbc (an optional dependency; the other is
 * {@link PostgresTimestamps}): {@code COPY … FROM STDIN} through its
 * {@code CopyManager}. Used (so loaded) only when {@code PostgresBackend.Statements.PGJDBC} says pgjdbc is on the
 * class path, so that the core runs without it; its methods take and return JDK types only.
 */
final class PostgresCopy {
    /** At most this many characters are encoded into one message to the server. */
    private static final int SLICE = 32 * 1024;

    /**
     * pgjdbc's connection behind {@code connection}, or null when it does not unwrap to one (a data source that
     * wraps pgjdbc's connections without letting them be unwrapped). Call only when pgjdbc is present.
     */
    static Object unwrap(Connection connection) throws SQLException {
        return connection.isWrapperFor(PGConnection.class) ? connection.unwrap(PGConnection.class) : null;
    }

    /** Sends the cancel of the connection's running command (a COPY included), as pgjdbc does for a statement. */
    static void cancel(Object pgConnection) throws SQLException {
        ((PGConnection) pgConnection).cancelQuery();
    }

    /**
     * Runs {@code sql}, a {@code COPY … FROM STDIN}, sending {@code text} (COPY's text format) as its data, in UTF-8
     * slices; on the calling thread, which it blocks until the server has answered.
     *
     * @return the number of rows the server copied
     * @throws SQLException the server's error (its SQLState kept: 57014 when cancelled), or an I/O failure of the
     *     connection (08006)
     */
    static long copyIn(Object pgConnection, String sql, CharSequence text) throws SQLException {
        CopyIn copy = ((PGConnection) pgConnection).getCopyAPI().copyIn(sql);
        try {
            int length = text.length();
            for (int from = 0; from < length; ) {
                int to = Math.min(length, from + SLICE);
                if (to < length && Character.isHighSurrogate(text.charAt(to - 1))) {
                    to--;
                }
                byte[] bytes = text.subSequence(from, to).toString().getBytes(StandardCharsets.UTF_8);
                copy.writeToCopy(bytes, 0, bytes.length);
                from = to;
            }
            return copy.endCopy();
        } catch (SQLException e) {
            if (copy.isActive()) {
                try {
                    copy.cancelCopy();
                } catch (SQLException | RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private PostgresCopy() {}
}
