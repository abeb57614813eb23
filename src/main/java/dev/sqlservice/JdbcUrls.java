package dev.sqlservice;

import java.net.URI;
import java.util.regex.Pattern;
import org.jooq.SQLDialect;

/** What a JDBC URL tells: its dialect, and a description of it that is safe to print. */
final class JdbcUrls {

    private static final Pattern SECRET_PARAMETER =
            Pattern.compile("(?i)([?&;](password|pwd|passwd|sslpassword|sslkey)=)[^&;]*");
    private static final Pattern USER_INFO = Pattern.compile("//[^/@?;]*@");

    static SQLDialect dialect(String url) {
        if (url == null) {
            return null;
        }
        if (url.startsWith("jdbc:postgresql:")) {
            return SQLDialect.POSTGRES;
        }
        if (url.startsWith("jdbc:mariadb:")) {
            return SQLDialect.MARIADB;
        }
        if (url.startsWith("jdbc:mysql:")) {
            return SQLDialect.MYSQL;
        }
        return null;
    }

    static boolean isMySqlFamily(SQLDialect dialect) {
        return dialect.family() == SQLDialect.MARIADB || dialect.family() == SQLDialect.MYSQL;
    }

    /** The name Flyway locations use for the {@code {vendor}} placeholder. */
    static String vendor(SQLDialect dialect) {
        return switch (dialect.family()) {
            case POSTGRES -> "postgresql";
            case MARIADB -> "mariadb";
            case MYSQL -> "mysql";
            default -> dialect.family().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static final Pattern SECRET_VALUE =
            Pattern.compile("(?i)[?&;](?:password|pwd|passwd|sslpassword|sslkey)=([^&;]*)");
    private static final Pattern USER_INFO_PASSWORD = Pattern.compile("//[^/@?;:]*:([^/@?;]*)@");

    /** Every secret a connection could quote back: the password, and passwords written into the URL. */
    static java.util.List<String> secrets(String url, String password) {
        java.util.List<String> secrets = new java.util.ArrayList<>();
        if (password != null && !password.isEmpty()) {
            secrets.add(password);
        }
        for (Pattern pattern : new Pattern[] {SECRET_VALUE, USER_INFO_PASSWORD}) {
            java.util.regex.Matcher m = pattern.matcher(url);
            while (m.find()) {
                if (!m.group(1).isEmpty()) {
                    secrets.add(m.group(1));
                }
            }
        }
        return secrets;
    }

    /** The text with every secret replaced by ***. */
    static String mask(String text, java.util.List<String> secrets) {
        String masked = text;
        for (String secret : secrets) {
            masked = masked.replace(secret, "***");
        }
        return masked;
    }

    /** The URL with passwords and user info removed. */
    static String redact(String url) {
        String withoutParams = SECRET_PARAMETER.matcher(url).replaceAll("$1***");
        return USER_INFO.matcher(withoutParams).replaceAll("//***@");
    }

    /** "host:port/database" for messages; never credentials or parameters. */
    static String describe(String url) {
        try {
            URI uri = URI.create(redact(url).substring("jdbc:".length()));
            String path = uri.getPath() == null ? "" : uri.getPath();
            return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort()) + path;
        } catch (RuntimeException e) {
            int query = url.indexOf('?');
            return redact(query < 0 ? url : url.substring(0, query));
        }
    }

    private JdbcUrls() {}
}
