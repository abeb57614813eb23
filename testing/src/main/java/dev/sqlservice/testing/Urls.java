package dev.sqlservice.testing;

import java.sql.SQLException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * JDBC URL handling for the harness: swapping the database name, printing a URL without what may hold a secret,
 * and cleaning driver failures, whose messages may quote the whole URL, before they reach a message or a cause.
 */
final class Urls {

    private static final Pattern DATABASE_IN_URL = Pattern.compile("^(jdbc:[a-z]+://[^/?;]+/)([^?;]*)(.*)$");

    /** {@code user:password@} (or {@code user@}) right after {@code //}: MySQL Connector/J accepts it. */
    private static final Pattern USER_INFO = Pattern.compile("(//)[^/?;@\\s]*@");

    /** A secret-looking {@code key=value} anywhere (a URL's parameters, Connector/J's {@code (key=value)} hosts). */
    private static final Pattern SECRET_PARAMETER = Pattern.compile(
            "(?i)([a-z0-9_.-]*(?:password|passwd|pwd|secret|token|credential)[a-z0-9_.-]*=)[^&;,)\\s]*");

    private Urls() {}

    /** The URL naming another database on the same server, with the same parameters. */
    static String withDatabase(String url, String database) {
        Matcher m = DATABASE_IN_URL.matcher(url);
        if (!m.matches()) {
            throw new IllegalStateException("SQLSERVICE_TEST_URL must look like jdbc:<driver>://host[:port]/database[?...],"
                    + " not " + withoutParameters(url));
        }
        return m.group(1) + database + m.group(3);
    }

    /**
     * The URL up to its parameters and without {@code user:password@}, which may hold a password: the only form
     * messages show.
     */
    static String withoutParameters(String url) {
        int cut = url.length();
        for (char c : new char[] {'?', ';'}) {
            int at = url.indexOf(c);
            if (at >= 0 && at < cut) {
                cut = at;
            }
        }
        return mask(USER_INFO.matcher(url.substring(0, cut)).replaceAll("$1"));
    }

    /**
     * A driver's message with every URL it quotes cut to {@link #withoutParameters}, every secret-looking
     * parameter masked, and the password (when not empty) replaced.
     */
    static String clean(String message, String url, String password) {
        if (message == null) {
            return null;
        }
        String cleaned = message;
        if (url != null && !url.isEmpty()) {
            cleaned = cleaned.replace(url, withoutParameters(url));
        }
        // Any other jdbc: URL the message quotes (the driver may have rewritten the one it was given).
        Matcher m = Pattern.compile("jdbc:[^\\s'\"]+").matcher(cleaned);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(withoutParameters(m.group())));
        }
        m.appendTail(out);
        cleaned = mask(out.toString());
        if (password != null && !password.isEmpty()) {
            cleaned = cleaned.replace(password, "********");
        }
        return cleaned;
    }

    private static String mask(String text) {
        return SECRET_PARAMETER.matcher(text).replaceAll("$1********");
    }

    /**
     * A copy of a driver failure that is safe to chain as a cause: every message in the chain cleaned as
     * {@link #clean}, SQLState, error code and stack traces kept, the original classes named in the messages (the
     * drivers' own exceptions are not kept: their messages and fields may hold the URL).
     */
    static SQLException cleanCopy(SQLException e, String url, String password) {
        SQLException copy = new SQLException(describe(e, url, password), e.getSQLState(), e.getErrorCode(),
                cleanCause(e.getCause(), url, password, 0));
        copy.setStackTrace(e.getStackTrace());
        return copy;
    }

    /** {@link #cleanCopy(SQLException, String, String)} for any failure (Flyway's quote the URL too). */
    static Throwable cleanCopy(Throwable t, String url, String password) {
        return t instanceof SQLException sql ? cleanCopy(sql, url, password) : cleanCause(t, url, password, 0);
    }

    private static Throwable cleanCause(Throwable t, String url, String password, int depth) {
        if (t == null || depth > 10) {
            return null;
        }
        Throwable cause = cleanCause(t.getCause() == t ? null : t.getCause(), url, password, depth + 1);
        Throwable copy = t instanceof SQLException sql
                ? new SQLException(describe(t, url, password), sql.getSQLState(), sql.getErrorCode(), cause)
                : new Exception(describe(t, url, password), cause);
        copy.setStackTrace(t.getStackTrace());
        return copy;
    }

    private static String describe(Throwable t, String url, String password) {
        String message = clean(t.getMessage(), url, password);
        return t.getClass() == SQLException.class ? message : t.getClass().getName() + ": " + message;
    }
}
