package dev.sqlservice;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * SQL text with {@code :name} parameters, parsed once into literal text and parameter references.
 *
 * <p>A parameter is a {@code :} followed by a name matching {@code [A-Za-z_][A-Za-z0-9_]*}. A {@code :} next to
 * another {@code :} ({@code ::type} casts) never starts a parameter, and string literals, quoted identifiers,
 * comments and PostgreSQL dollar-quoted strings are copied through untouched, whatever they contain.
 *
 * <p>{@link #expand} combines the template with parameter values into pieces: {@link String}s of literal SQL
 * to emit verbatim and {@link Bind}s to bind, so values never become part of the SQL text. A
 * {@link Collection} value becomes one bind per element, separated by {@code ", "}, for {@code in (:ids)};
 * any other value, arrays included, is a single bind.
 *
 * <p>On {@link Dialect#POSTGRES} every {@code ?} outside literals and comments, as in the jsonb operators
 * {@code ?}, {@code ?|} and {@code ?&}, is emitted as {@code ??}, which pgjdbc reads as a literal {@code ?}
 * rather than a placeholder.
 *
 * <p>The lexical rules are those of the servers' defaults: {@code standard_conforming_strings} on for
 * PostgreSQL; neither {@code ANSI_QUOTES} nor {@code NO_BACKSLASH_ESCAPES} in MySQL's {@code sql_mode}.
 * MySQL's executable comments ({@code /*!...}) are comments like any other here.
 *
 * <p>Instances are immutable and thread-safe: parse once, expand as often as needed.
 */
final class NamedSql {

    /** The SQL lexical rules to apply. */
    enum Dialect {
        POSTGRES,
        /** MySQL and MariaDB. */
        MYSQL
    }

    /** A value to bind in place of one occurrence of parameter {@code name}; {@code value} may be null. */
    record Bind(String name, Object value) {}

    /** {@code texts.get(i)} precedes {@code names.get(i)}; there is one more text than there are names. */
    private final List<String> texts;
    private final List<String> names;
    private final Set<String> parameterNames;

    private NamedSql(List<String> texts, List<String> names) {
        this.texts = List.copyOf(texts);
        this.names = List.copyOf(names);
        this.parameterNames = Collections.unmodifiableSequencedSet(new LinkedHashSet<>(names));
    }

    /**
     * Parses {@code sql} in a single pass.
     *
     * @throws IllegalArgumentException if a string literal, quoted identifier, dollar-quoted string or block
     *     comment is not terminated
     */
    static NamedSql parse(String sql, Dialect dialect) {
        Objects.requireNonNull(sql, "sql == null");
        Objects.requireNonNull(dialect, "dialect == null");
        boolean postgres = dialect == Dialect.POSTGRES;
        var texts = new ArrayList<String>();
        var names = new ArrayList<String>();
        var text = new StringBuilder(sql.length());
        int i = 0;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (c == ':' && at(sql, i - 1) != ':' && isNameStart(at(sql, i + 1))) {
                int end = endOfName(sql, i + 1);
                texts.add(text.toString());
                text.setLength(0);
                names.add(sql.substring(i + 1, end));
                i = end;
            } else if (c == '?' && postgres) {
                text.append("??");
                i++;
            } else {
                int end = postgres ? endOfPostgresToken(sql, i) : endOfMysqlToken(sql, i);
                text.append(sql, i, end);
                i = end;
            }
        }
        texts.add(text.toString());
        return new NamedSql(texts, names);
    }

    /** The distinct parameter names, in order of first appearance. */
    Set<String> parameterNames() {
        return parameterNames;
    }

    /**
     * Returns the immutable list of pieces for {@code params}: {@link String}s of literal SQL (never empty,
     * never two in a row) and {@link Bind}s.
     *
     * @throws IllegalArgumentException if a parameter has no value, a key is not a parameter of the SQL, or a
     *     value is an empty collection
     */
    List<Object> expand(Map<String, ?> params) {
        Objects.requireNonNull(params, "params == null");
        checkKeys(params);
        var pieces = new ArrayList<Object>(texts.size() + names.size());
        for (int i = 0; i < names.size(); i++) {
            addText(pieces, texts.get(i));
            addBinds(pieces, names.get(i), params.get(names.get(i)));
        }
        addText(pieces, texts.getLast());
        return Collections.unmodifiableList(pieces);
    }

    private void checkKeys(Map<String, ?> params) {
        var unused = new TreeSet<String>();
        for (String key : params.keySet()) {
            if (key == null) {
                throw new IllegalArgumentException("params contains a null parameter name");
            }
            if (key.startsWith(":")) {
                throw new IllegalArgumentException("parameter names are given without ':': use \""
                        + key.substring(1) + "\", not \"" + key + "\"");
            }
            if (!parameterNames.contains(key)) {
                unused.add(key);
            }
        }
        var missing = parameterNames.stream().filter(name -> !params.containsKey(name)).toList();
        var problems = new ArrayList<String>(2);
        if (!missing.isEmpty()) {
            problems.add(
                    (missing.size() == 1 ? "missing value for SQL parameter " : "missing values for SQL parameters ")
                            + colonList(missing));
        }
        if (!unused.isEmpty()) {
            String keys = colonList(unused);
            String subject = unused.size() == 1 ? "parameter " + keys + " is" : "parameters " + keys + " are";
            String context = parameterNames.isEmpty()
                    ? "it has no parameters"
                    : "its parameters are " + colonList(parameterNames);
            problems.add(subject + " not used in the SQL (" + context + ")");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
    }

    private static String colonList(Collection<String> names) {
        return names.stream().map(name -> ":" + name).collect(Collectors.joining(", "));
    }

    private static void addText(List<Object> pieces, String text) {
        if (!text.isEmpty()) {
            pieces.add(text);
        }
    }

    private static void addBinds(List<Object> pieces, String name, Object value) {
        if (!(value instanceof Collection<?> values)) {
            pieces.add(new Bind(name, value));
            return;
        }
        if (values.isEmpty()) {
            throw new IllegalArgumentException("parameter :" + name
                    + " is an empty collection; SQL \"in ()\" is invalid, so handle the empty case before querying");
        }
        boolean first = true;
        for (Object element : values) {
            if (!first) {
                pieces.add(", ");
            }
            pieces.add(new Bind(name, element));
            first = false;
        }
    }

    /** Returns the end of the token starting at {@code i}: a whole literal or comment, else one character. */
    private static int endOfPostgresToken(String sql, int i) {
        return switch (sql.charAt(i)) {
            case '\'' -> endOfQuoted(sql, i, i, false, "string literal");
            case '"' -> endOfQuoted(sql, i, i, false, "quoted identifier");
            case 'E', 'e' -> at(sql, i + 1) == '\'' && !isIdentifierPart(at(sql, i - 1))
                    ? endOfQuoted(sql, i, i + 1, true, "escape string literal")
                    : i + 1;
            case '$' -> endOfDollarQuoted(sql, i);
            case '-' -> at(sql, i + 1) == '-' ? endOfLine(sql, i) : i + 1;
            case '/' -> at(sql, i + 1) == '*' ? endOfBlockComment(sql, i, true) : i + 1;
            default -> i + 1;
        };
    }

    /** Returns the end of the token starting at {@code i}: a whole literal or comment, else one character. */
    private static int endOfMysqlToken(String sql, int i) {
        return switch (sql.charAt(i)) {
            case '\'', '"' -> endOfQuoted(sql, i, i, true, "string literal");
            case '`' -> endOfQuoted(sql, i, i, false, "quoted identifier");
            case '#' -> endOfLine(sql, i);
            // MySQL only starts a comment at "--" followed by a space or control character: 1--1 is 1 - (-1).
            case '-' -> at(sql, i + 1) == '-' && at(sql, i + 2) <= ' ' ? endOfLine(sql, i) : i + 1;
            case '/' -> at(sql, i + 1) == '*' ? endOfBlockComment(sql, i, false) : i + 1;
            default -> i + 1;
        };
    }

    /**
     * Returns the index just past the quote closing the one at {@code open}. A doubled quote stands for itself;
     * {@code start} is where the literal starts, before any prefix such as {@code E}.
     */
    private static int endOfQuoted(String sql, int start, int open, boolean backslashEscapes, String what) {
        char quote = sql.charAt(open);
        for (int i = open + 1; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (c == '\\' && backslashEscapes) {
                i++;
            } else if (c == quote) {
                if (at(sql, i + 1) != quote) {
                    return i + 1;
                }
                i++;
            }
        }
        throw unterminated(what, start, sql);
    }

    private static int endOfDollarQuoted(String sql, int start) {
        // In PostgreSQL "$" continues an identifier (a$b$), and "$" before a digit is a positional parameter.
        if (isIdentifierPart(at(sql, start - 1))) {
            return start + 1;
        }
        int tagEnd = isNameStart(at(sql, start + 1)) ? endOfName(sql, start + 1) : start + 1;
        if (at(sql, tagEnd) != '$') {
            return start + 1;
        }
        String delimiter = sql.substring(start, tagEnd + 1);
        int close = sql.indexOf(delimiter, tagEnd + 1);
        if (close < 0) {
            throw unterminated("dollar-quoted string " + delimiter, start, sql);
        }
        return close + delimiter.length();
    }

    private static int endOfBlockComment(String sql, int start, boolean nesting) {
        int depth = 1;
        for (int i = start + 2; i < sql.length() - 1; i++) {
            char c = sql.charAt(i);
            char next = sql.charAt(i + 1);
            if (c == '*' && next == '/') {
                if (--depth == 0) {
                    return i + 2;
                }
                i++;
            } else if (nesting && c == '/' && next == '*') {
                depth++;
                i++;
            }
        }
        throw unterminated("block comment", start, sql);
    }

    private static int endOfLine(String sql, int start) {
        int i = start;
        while (i < sql.length() && sql.charAt(i) != '\n' && sql.charAt(i) != '\r') {
            i++;
        }
        return i;
    }

    private static int endOfName(String sql, int start) {
        int i = start;
        while (isNamePart(at(sql, i))) {
            i++;
        }
        return i;
    }

    /** Returns the character at {@code i}, or {@code '\0'} outside the string. */
    private static char at(String sql, int i) {
        return i >= 0 && i < sql.length() ? sql.charAt(i) : '\0';
    }

    private static boolean isNameStart(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    }

    private static boolean isNamePart(char c) {
        return isNameStart(c) || (c >= '0' && c <= '9');
    }

    private static boolean isIdentifierPart(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }

    private static IllegalArgumentException unterminated(String what, int offset, String sql) {
        return new IllegalArgumentException(
                "unterminated " + what + " starting at offset " + offset + " in SQL: " + sql);
    }
}
