package dev.sqlservice;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jooq.SQLDialect;

/**
 * What a JDBC URL tells: its dialect, a description of it that is safe to print, and its secrets, which
 * {@link #split} takes out of it so that no code that logs or quotes URLs (the pool, the drivers) ever sees them.
 */
final class JdbcUrls {

    /** {@code [?&;]name=value}: a parameter wherever one could be written, value up to the next separator. */
    private static final Pattern PARAMETER = Pattern.compile("([?&;])([^=?&;/]*)=([^&;]*)");

    /** The dialect of the backend whose driver reads this URL ({@link Backend#forUrl}), or null. */
    static SQLDialect dialect(String url) {
        Backend backend = Backend.forUrl(url);
        return backend == null ? null : backend.dialect();
    }

    /**
     * Whether a connection parameter holds a secret: passwords and pass phrases ({@code password},
     * {@code sslpassword}, {@code trustStorePassword}, {@code keyStorePassword}, {@code keyPassword},
     * {@code passwd}, {@code pwd}), secrets, tokens, keys ({@code sslkey}, {@code apiKey}) and pgjdbc's
     * {@code sslfactoryarg}. Paths to certificates ({@code sslcert}, {@code sslrootcert}, {@code serverSslCert})
     * and key stores ({@code keyStore}) are not secrets, nor are flags such as {@code allowPublicKeyRetrieval}.
     */
    static boolean isSecretName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.contains("pass") || n.contains("pwd") || n.contains("secret") || n.contains("token")
                || n.endsWith("key") || n.equals("sslfactoryarg");
    }

    /**
     * A URL without its secrets, and the secrets as driver properties: the driver gets the same settings, the
     * URL can be logged and quoted.
     */
    record Split(String url, Properties secrets) {}

    /**
     * Takes every secret parameter ({@link #isSecretName}) out of the query ({@code ?a=b&c=d}, the only place
     * these drivers read parameters) of a URL of a supported backend ({@link Backend#forUrl}) into properties,
     * decoded as the driver decodes them ({@link Backend#urlParameterValue}: pgjdbc URL-decodes values, MariaDB
     * does not). A URL of another driver is left as it is.
     *
     * @throws IllegalArgumentException when the URL holds a secret where these drivers read no parameter (a
     *     password in {@code //user:password@host}, a {@code ;password=} or a secret inside another value): they
     *     would take it for part of the host, the database name or that value, and quote it in errors and logs
     */
    static Split split(String url) {
        Backend backend = Backend.forUrl(url);
        if (backend == null) {
            return new Split(url, new Properties());
        }
        int query = url.indexOf('?');
        String base = query < 0 ? url : url.substring(0, query);
        Properties secrets = new Properties();
        StringJoiner kept = new StringJoiner("&");
        boolean anyKept = false;
        if (query >= 0) {
            for (String parameter : url.substring(query + 1).split("&", -1)) {
                int equals = parameter.indexOf('=');
                String name = equals < 0 ? parameter : parameter.substring(0, equals);
                if (equals > 0 && isSecretName(name)) {
                    String value = parameter.substring(equals + 1);
                    secrets.setProperty(name, backend.urlParameterValue(name, value));
                } else {
                    kept.add(parameter);
                    anyKept = true;
                }
            }
        }
        String safe = anyKept ? base + "?" + kept : base;
        if (userInfo(safe).contains(":")) {
            throw new IllegalArgumentException("url " + describe(url) + " carries a password before the host"
                    + " (//user:password@host), where the JDBC driver does not read one: pass it with password(...)"
                    + " or as a ?password= parameter");
        }
        Matcher m = PARAMETER.matcher(safe);
        while (m.find()) {
            if (isSecretName(m.group(2))) {
                throw new IllegalArgumentException("url " + describe(url) + " carries the secret parameter "
                        + m.group(2) + " where the JDBC driver reads no parameter (it reads them after '?', separated"
                        + " by '&'), so it would take the secret for part of another value: move it after '?'");
            }
        }
        return new Split(safe, secrets);
    }

    /** Every secret a connection could quote back: the password, and every secret parameter of the URL. */
    static List<String> secrets(String url, String password) {
        List<String> secrets = new ArrayList<>();
        if (password != null && !password.isEmpty()) {
            secrets.add(password);
        }
        Matcher m = PARAMETER.matcher(url);
        while (m.find()) {
            if (isSecretName(m.group(2)) && !m.group(3).isEmpty()) {
                secrets.add(m.group(3));
                try {
                    secrets.add(URLDecoder.decode(m.group(3), StandardCharsets.UTF_8));
                } catch (IllegalArgumentException e) {
                    // not URL-encoded: the raw value is the secret
                }
            }
        }
        String userInfo = userInfo(url);
        if (userInfo.contains(":")) {
            secrets.add(userInfo.substring(userInfo.indexOf(':') + 1));
        }
        secrets.removeIf(String::isEmpty);
        return secrets;
    }

    /** The text with every secret replaced by ***. */
    static String mask(String text, List<String> secrets) {
        String masked = text;
        for (String secret : secrets) {
            masked = masked.replace(secret, "***");
        }
        return masked;
    }

    /** The URL with the values of secret parameters and any user info replaced by ***. */
    static String redact(String url) {
        String userInfo = userInfo(url);
        String withoutUserInfo = userInfo.isEmpty() ? url : url.replace("//" + userInfo + "@", "//***@");
        Matcher m = PARAMETER.matcher(withoutUserInfo);
        StringBuilder redacted = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(redacted, Matcher.quoteReplacement(
                    isSecretName(m.group(2)) ? m.group(1) + m.group(2) + "=***" : m.group()));
        }
        return m.appendTail(redacted).toString();
    }

    /** "postgresql://host:port/database" for messages: no user info, no parameters. */
    static String describe(String url) {
        String userInfo = userInfo(url);
        String described = userInfo.isEmpty() ? url : url.replace("//" + userInfo + "@", "//");
        int end = described.length();
        for (char c : new char[] {'?', ';', '&'}) {
            int at = described.indexOf(c);
            if (at >= 0) {
                end = Math.min(end, at);
            }
        }
        described = described.substring(0, end);
        return described.startsWith("jdbc:") ? described.substring("jdbc:".length()) : described;
    }

    /**
     * What stands between {@code //} and the last {@code @} before the query ({@code user:password}), or "".
     * The last {@code @}: a password may hold {@code @} and {@code /}.
     */
    private static String userInfo(String url) {
        int start = url.indexOf("//");
        if (start < 0) {
            return "";
        }
        int query = url.indexOf('?', start);
        int at = url.lastIndexOf('@', query < 0 ? url.length() - 1 : query - 1);
        return at < start + 2 ? "" : url.substring(start + 2, at);
    }

    private JdbcUrls() {}
}
