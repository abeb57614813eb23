package dev.sqlservice.testing;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** JDBC URL handling for the harness: swapping the database name, and printing a URL without its parameters. */
final class Urls {

    private static final Pattern DATABASE_IN_URL = Pattern.compile("^(jdbc:[a-z]+://[^/?;]+/)([^?;]*)(.*)$");

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

    /** The URL up to its parameters, which may hold a password: the only form messages show. */
    static String withoutParameters(String url) {
        int cut = url.length();
        for (char c : new char[] {'?', ';'}) {
            int at = url.indexOf(c);
            if (at >= 0 && at < cut) {
                cut = at;
            }
        }
        return url.substring(0, cut);
    }
}
