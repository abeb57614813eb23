package dev.sqlservice;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.jooq.Binding;
import org.jooq.BindingGetResultSetContext;
import org.jooq.BindingGetSQLInputContext;
import org.jooq.BindingGetStatementContext;
import org.jooq.BindingRegisterContext;
import org.jooq.BindingSQLContext;
import org.jooq.BindingSetSQLOutputContext;
import org.jooq.BindingSetStatementContext;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.JSON;
import org.jooq.JSONB;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.TableField;
import org.jooq.UpdatableRecord;
import org.jooq.VisitContext;
import org.jooq.VisitListener;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * MariaDB ({@code jdbc:mariadb:}) and MySQL ({@code jdbc:mysql:}), through MariaDB Connector/J or MySQL's own
 * driver: every rule of the core that is theirs. MySQL is a variant of MariaDB here rather than a backend of its
 * own: the two share the wire protocol, the driver settings, the lexer of plain SQL (backslash escapes,
 * {@code #} comments, backticks), the upsert statement ({@code ON DUPLICATE KEY UPDATE}), the catalog query and
 * the error codes; MySQL lacks {@code SET STATEMENT} and {@code INSERT … RETURNING}, and rounds fractional
 * seconds where MariaDB truncates them. Each difference is one test of {@code mysql} below.
 *
 * <p>{@code OffsetDateTime} values travel as UTC ({@link Timestamps}), and
 * {@code TIMESTAMP} columns are read and written in the session time zone, which any statement (or a pool
 * handed in) may have changed: instants would then be stored and read shifted, without any error. On MariaDB
 * every query and write the library sends therefore runs with {@code SET STATEMENT time_zone = '+00:00' FOR},
 * whatever the session says, at no extra round trip. MySQL has no {@code SET STATEMENT}: its sessions are set
 * to UTC when the library's pool opens them, and those of a data source handed in are checked on every lease.
 */
final class MariaDbBackend extends Backend {
    static final MariaDbBackend MARIADB = new MariaDbBackend(false);
    static final MariaDbBackend MYSQL = new MariaDbBackend(true);
    private final boolean mysql;

    private MariaDbBackend(boolean mysql) {
        this.mysql = mysql;
    }

    @Override
    SQLDialect dialect() {
        return mysql ? SQLDialect.MYSQL : SQLDialect.MARIADB;
    }

    @Override
    String urlPrefix() {
        return mysql ? "jdbc:mysql:" : "jdbc:mariadb:";
    }

    @Override
    String vendor() {
        return mysql ? "mysql" : "mariadb";
    }

    @Override
    NamedSql.Dialect namedParameters() {
        return NamedSql.Dialect.MYSQL;
    }

    @Override
    VisitListener visitListener() {
        return new Timestamps();
    }

    /**
     * The largest {@code group_concat} result, raised for every query (the server's default, 1 MiB, would cut
     * longer results silently, with only a warning), as jOOQ does by itself in {@link #settings}'s place. 1 GiB:
     * MariaDB's maximum (a larger value is cut to it with warning 1292 on every statement, which costs a
     * {@code SHOW WARNINGS} round trip when jOOQ reads the statement's warnings), and the largest
     * {@code max_allowed_packet}, so no result row could be longer on MariaDB or MySQL.
     */
    private static final String GROUP_CONCAT_LIMIT = ", group_concat_max_len = 1073741824";

    /** What {@link #statementSql} puts before a query ({@code SELECT}, {@code WITH}); a row limit may follow. */
    private static final String QUERY_PREFIX = "set statement time_zone = '+00:00'" + GROUP_CONCAT_LIMIT;

    /**
     * What {@link #statementSql} puts before a write ({@code INSERT}, {@code UPDATE}, {@code DELETE},
     * {@code REPLACE}), a {@code CALL} or DDL ({@code CREATE}): an {@code INSERT … SELECT group_concat(…)} needs the
     * limit as much as a query (a data source handed in keeps the server's 1 MiB default). A {@code CREATE EVENT}
     * run through the library is therefore stored with time zone {@code +00:00} (its {@code STARTS} read as UTC),
     * like every other time the library handles.
     */
    private static final String WRITE_PREFIX = "set statement time_zone = '+00:00'" + GROUP_CONCAT_LIMIT + " for ";

    /**
     * jOOQ renders {@code group_concat} on MySQL and MariaDB as three statements in one call ({@code set @t =
     * @@group_concat_max_len; set @@group_concat_max_len = 4294967295; select ...}), which a connection without
     * {@code allowMultiQueries} refuses: instead every query runs with {@link #GROUP_CONCAT_LIMIT} (MariaDB's
     * {@code SET STATEMENT}; MySQL's session set-up).
     */
    @Override
    org.jooq.conf.Settings settings(org.jooq.conf.Settings settings) {
        return settings.withRenderGroupConcatMaxLenSessionVariable(false);
    }

    @Override
    UpsertStatements upserts() {
        return mysql ? Statements.MYSQL : Statements.MARIADB;
    }

    /** MariaDB truncates fractional seconds to the column's digits, MySQL rounds them half up. */
    @Override
    Instant storedTimestamp(Instant value, int digits) {
        long unit = (long) Math.pow(10, 9 - digits);
        int nano = value.getNano();
        if (mysql) {
            return Instant.ofEpochSecond(value.getEpochSecond(), (nano + unit / 2) / unit * unit);
        }
        return Instant.ofEpochSecond(value.getEpochSecond(), nano - nano % unit);
    }

    /**
     * Connector/J applies JDBC {@code maxRows} by prefixing {@code SET STATEMENT sql_select_limit = n FOR},
     * which it no longer does to a statement that starts with our own {@code SET STATEMENT}: the limit joins
     * ours.
     */
    @Override
    String statementSql(String sql, int maxRows) {
        if (mysql) {
            return sql;
        }
        // Runs for every statement: keywords compared in place (a regex here was a percent of a point query).
        int start = executableCommentBody(sql, keywordStart(sql, true));
        boolean query = startsWithKeyword(sql, start, "select") || startsWithKeyword(sql, start, "with")
                || startsWithKeyword(sql, start, "values");
        if (!query && !startsWithKeyword(sql, start, "insert") && !startsWithKeyword(sql, start, "update")
                && !startsWithKeyword(sql, start, "delete") && !startsWithKeyword(sql, start, "replace")
                && !startsWithKeyword(sql, start, "call") && !startsWithKeyword(sql, start, "create")) {
            return sql;
        }
        if (!query) {
            return WRITE_PREFIX.concat(sql);
        }
        StringBuilder sent = new StringBuilder(QUERY_PREFIX.length() + 40 + sql.length()).append(QUERY_PREFIX);
        if (maxRows > 0) {
            sent.append(", sql_select_limit = ").append(maxRows);
        }
        return sent.append(" for ").append(sql).toString();
    }
    /**
     * Where the statement inside a MariaDB executable comment ({@code /*!100000 select …}, {@code /*M!…}) starts,
     * when {@code i} is at one; otherwise {@code i}. The whole text is wrapped, comment included: MariaDB runs
     * what the comment holds.
     */
    private static int executableCommentBody(String sql, int i) {
        if (!sql.startsWith("/*!", i) && !sql.startsWith("/*M!", i)) {
            return i;
        }
        i += sql.charAt(i + 2) == 'M' ? 4 : 3;
        while (i < sql.length() && (Character.isDigit(sql.charAt(i)) || Character.isWhitespace(sql.charAt(i)))) {
            i++;
        }
        return i;
    }

    /**
     * A {@code CALL} is not atomic ({@link Backend#isAtomic}), also once {@link #statementSql} has put the
     * {@code SET STATEMENT … FOR} prefix before it: the check runs on the SQL as sent.
     */
    @Override
    boolean isAtomic(String sql) {
        return super.isAtomic(sql.startsWith(WRITE_PREFIX) ? sql.substring(WRITE_PREFIX.length()) : sql);
    }

    private static final Set<String> UTC = Set.of("+00:00", "+0:00", "UTC", "Etc/UTC", "Z", "GMT", "Etc/GMT");
    private static final int QUERY_INTERRUPTED = 1317;
    private static final int SERVER_SHUTDOWN = 1927;

    @Override
    boolean isCancelConfirmation(DataAccessException e) {
        return e.getCause() instanceof SQLException s && s.getErrorCode() == QUERY_INTERRUPTED;
    }

    /** ER_CONNECTION_KILLED ("Connection was killed"), sent to every session when the server shuts down. */
    @Override
    boolean isServerShutdown(String sqlState, int errorCode) {
        return errorCode == SERVER_SHUTDOWN;
    }

    @Override
    boolean endsInterruptedQueriesNormally() {
        return true;
    }

    @Override
    boolean streamsOnlyInTransactions() {
        // Connector/J 3 streams any result whose statement has a fetch size > 0, reading that many rows from
        // the socket at a time (the server's writes wait on TCP flow control): autocommit is fine.
        return false;
    }

    @Override
    boolean readsRestOfResultOnClose() {
        return true;
    }

    /**
     * The server sends a streamed result ahead until the socket's buffers are full, then waits in its write;
     * after {@code net_write_timeout} (60 s by default) it drops the connection. A consumer may take longer
     * between rows: the stream's session waits as long as it needs (a year), and gets the server's default
     * back afterwards.
     */
    @Override
    String[] streamSessionSql() {
        return new String[] {"set session net_write_timeout = 31536000",
            "set session net_write_timeout = @@global.net_write_timeout"};
    }

    @Override
    boolean checksSessions() {
        return mysql;
    }

    @Override
    String unfitSession(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement();
                ResultSet r = s.executeQuery("select @@session.time_zone, @@system_time_zone")) {
            r.next();
            String zone = r.getString(1);
            if (UTC.contains(zone) || "SYSTEM".equalsIgnoreCase(zone) && UTC.contains(r.getString(2))) {
                return null;
            }
            return "the dataSource's sessions use time_zone '" + zone + "', but sqlservice reads and writes"
                    + " TIMESTAMP values as UTC and needs time_zone = '+00:00' on every connection (otherwise"
                    + " OffsetDateTime values are stored shifted): set it in your pool (HikariCP:"
                    + " connectionInitSql \"set time_zone = '+00:00'\"), or build with url(...) instead";
        }
    }

    @Override
    String sessionInitSql() {
        return "set time_zone = '+00:00'" + GROUP_CONCAT_LIMIT;
    }

    @Override
    Properties driverDefaults(Duration connect) {
        Properties p = new Properties();
        // Connector/J also bounds Statement.cancel() (a new connection sending KILL QUERY) and abort() with it.
        p.setProperty("connectTimeout", Long.toString(Math.max(1, connect.toMillis())));
        p.setProperty("tcpKeepAlive", "true");
        return p;
    }

    @Override
    Properties probeSettings(Duration bound) {
        Properties p = driverDefaults(bound);
        p.setProperty("socketTimeout", Long.toString(Math.max(1, bound.toMillis())));
        return p;
    }

    @Override
    long sessionId(Connection connection) throws SQLException {
        return driverLong(connection, "getThreadId");
    }

    /**
     * Connector/J's {@code abort()} first sends {@code KILL} over a new connection and closes the socket only
     * after that (on a dead network: after its connect timeout). The socket itself is closed first here, so
     * the blocked read fails at once; {@code abort()} then only tidies up.
     */
    @Override
    void abort(Connection connection, java.util.concurrent.Executor executor) throws SQLException {
        try {
            Connection physical = connection.unwrap(Connection.class);
            Object client = physical.getClass().getMethod("getClient").invoke(physical);
            for (Class<?> type = client.getClass(); type != null; type = type.getSuperclass()) {
                try {
                    java.lang.reflect.Field field = type.getDeclaredField("socket");
                    field.setAccessible(true);
                    if (field.get(client) instanceof java.net.Socket socket) {
                        socket.close();
                    }
                    break;
                } catch (NoSuchFieldException next) {
                    // look in the superclass
                }
            }
        } catch (ReflectiveOperationException | RuntimeException | java.io.IOException e) {
            // Another driver version: its own abort() does the job, only more slowly.
        }
        connection.abort(executor);
    }

    @Override
    String sessionAliveSql() {
        return "select 1 from information_schema.processlist where id = ? and command <> 'Sleep'";
    }

    /**
     * MariaDB and MySQL: {@code INSERT … ON DUPLICATE KEY UPDATE}, which fires on <em>any</em> unique key. So the
     * first assignment guards the primary key: when the row found is not the row with our primary key (another
     * unique key matched), it evaluates a subquery returning two rows (of the key's own type), an error in every
     * SQL mode, before the row changes; that error is reported as an integrity constraint violation (SQLState
     * 23000). (Assigning NULL instead is silently turned into 0 for AUTO_INCREMENT keys.) The statement runs in
     * strict mode (MariaDB's {@code SET STATEMENT}; MySQL's default), so a missing NOT NULL value fails instead of
     * becoming ''. Rows go in the plan's order ({@code VALUES} in that order). Stored rows are read back by
     * primary key afterwards ({@link #match}); generated keys come from {@code RETURNING} (MariaDB) or, on MySQL,
     * from one insert per record. A statement carries at most 1,000 rows, 30,000 binds and
     * {@link #BYTES_PER_STATEMENT} of values by a worst-case estimate, well under the default
     * {@code max_allowed_packet} (16 MiB on MariaDB, 64 MiB on MySQL 8).
     */
    static final class Statements extends UpsertStatements {
        static final Statements MARIADB = new Statements(false);
        static final Statements MYSQL = new Statements(true);
        private static final int MAX_ROWS = 1_000;
        private static final int MAX_BINDS = 30_000;
        /** Values of one statement, estimated at 3 bytes per character (UTF-8, escapes) and 2 per byte. */
        static final long BYTES_PER_STATEMENT = 8L << 20;
        /** "Subquery returns more than 1 row": raised by the guard alone, the statement has no other subquery. */
        private static final int GUARD_ERROR = 1242;

        /** A row's 1-based position in what a statement sent. */
        private static final Field<Integer> POSITION = DSL.field(DSL.name("sqlservice_position"), SQLDataType.INTEGER);

        private final boolean mysql;

        private Statements(boolean mysql) {
            this.mysql = mysql;
        }

        @Override
        <R extends UpdatableRecord<?>> Written upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            BitSet columns = writable(dsl, group);
            rows = rows.subList(0, rowsPerStatement(fields, columns, rows));
            if (group.generatedKey() && mysql) {
                List<Record> stored = new ArrayList<>(rows.size());
                for (R row : rows) {
                    stored.add(insertReturning(dsl, table, fields, columns, row));
                }
                return new Written(rows.size(), stored);
            }
            List<TableField<?, ?>> key = group.keys().fields();
            BitSet borrowed = group.generatedKey() ? new BitSet()
                    : requiredButUnset(fields, columns, computedColumns(dsl, table));
            DataType<?>[] types = notNullTypes(fields);
            Sql sql = new Sql().sql(mysql ? "" : "set statement sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00' for ");
            sql.sql("insert into ").part(table).sql(" (");
            boolean first = true;
            for (int i = 0; i < fields.length; i++) {
                if (columns.get(i) || borrowed.get(i)) {
                    sql.sql(first ? "" : ", ").name(fields[i]);
                    first = false;
                }
            }
            sql.sql(borrowed.isEmpty() ? ") values " : ") select ");
            if (borrowed.isEmpty()) {
                for (int r = 0; r < rows.size(); r++) {
                    sql.sql(r == 0 ? "(" : ", (");
                    appendValues(sql, fields, types, columns, rows.get(r), false);
                    sql.sql(")");
                }
            } else {
                first = true;
                for (int i = 0; i < fields.length; i++) {
                    if (columns.get(i) || borrowed.get(i)) {
                        sql.sql(first ? "" : ", ").name(borrowed.get(i) ? "e" : "v", fields[i]);
                        first = false;
                    }
                }
                sql.sql(" from (");
                for (int r = 0; r < rows.size(); r++) {
                    // the position keeps the plan's order through the join
                    sql.sql(r == 0 ? "select 1 as " : " union all select " + (r + 1));
                    if (r == 0) {
                        sql.name(POSITION);
                    }
                    appendValues(sql.sql(", "), fields, types, columns, rows.get(r), r == 0);
                }
                sql.sql(") as v left join ").part(table).sql(" as e on ");
                for (int k = 0; k < key.size(); k++) {
                    sql.sql(k == 0 ? "" : " and ").name("e", key.get(k)).sql(" = ").name("v", key.get(k));
                }
                sql.sql(" order by ").name("v", POSITION);
            }
            if (group.generatedKey()) {
                sql.sql(" returning ");
                for (int i = 0; i < fields.length; i++) {
                    sql.sql(i == 0 ? "" : ", ").name(fields[i]);
                }
                return new Written(rows.size(), dsl.resultQuery("{0}", sql.build()).coerce(readFields(fields, mysql)).fetch());
            }
            sql.sql(" on duplicate key update ").name(table, key.getFirst()).sql(" = if(");
            for (int k = 0; k < key.size(); k++) {
                sql.sql(k == 0 ? "" : " and ").name(table, key.get(k)).sql(" <=> values(").name(key.get(k)).sql(")");
            }
            sql.sql(", ").name(table, key.getFirst()).sql(", (select ").name(table, key.getFirst())
                    .sql(" union all select ").name(table, key.getFirst()).sql("))");
            for (int i = 0; i < fields.length; i++) {
                if (columns.get(i) && !key.contains(fields[i])) {
                    sql.sql(", ").name(table, fields[i]).sql(" = values(").name(fields[i]).sql(")");
                }
            }
            try {
                // As a ResultQuery (its update count comes back as a one-row result): jOOQ tells the execute type of
                // a plain SQL Query by rendering it a second time and matching the text, which doubled the client
                // CPU this statement costs.
                dsl.resultQuery("{0}", sql.build()).execute();
            } catch (org.jooq.exception.DataAccessException e) {
                if (e.getCause() instanceof java.sql.SQLException cause && cause.getErrorCode() == GUARD_ERROR) {
                    String message = "a record of " + table.getName() + " has the same value as another row in a unique"
                            + " key other than the primary key; no row was changed";
                    throw new org.jooq.exception.IntegrityConstraintViolationException(message,
                            new java.sql.SQLIntegrityConstraintViolationException(message, "23000", 1062, cause));
                }
                throw e;
            }
            return new Written(rows.size(), List.of());
        }

        @Override
        List<? extends Record> match(DSLContext dsl, Upserts.Group<?> group, List<? extends Record> records) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            List<TableField<?, ?>> key = group.keys().fields();
            int[] indexes = group.keys().indexes();
            Upserts.KeyColumn[] columns = group.keys().columns();
            DataType<?>[] types = new DataType<?>[key.size()];
            for (int k = 0; k < types.length; k++) {
                types[k] = key.get(k).getDataType().notNull();
            }
            Sql sql = new Sql().sql("select ");
            for (Field<?> field : fields) {
                sql.name("t", field).sql(", ");
            }
            sql.name("v", POSITION).sql(" from (");
            for (int r = 0; r < records.size(); r++) {
                sql.sql(r == 0 ? "select 1 as " : " union all select " + (r + 1));
                if (r == 0) {
                    sql.name(POSITION);
                }
                for (int k = 0; k < key.size(); k++) {
                    // the value as stored (a decimal at the column's scale): compared with the stored rows as it is
                    sql.sql(", ").bind(key.get(k), types[k], columns[k].canonical(records.get(r).get(indexes[k])));
                    if (r == 0) {
                        sql.sql(" as ").name(key.get(k));
                    }
                }
            }
            sql.sql(") as v join ").part(table).sql(" as t on ");
            for (int k = 0; k < key.size(); k++) {
                sql.sql(k == 0 ? "" : " and ").name("t", key.get(k)).sql(" = ").name("v", key.get(k));
            }
            return dsl.resultQuery("{0}", sql.build()).coerce(withPosition(readFields(fields, mysql), POSITION)).fetch();
        }

        @Override
        List<String> computedColumnNames(DSLContext dsl, Table<?> table) {
            List<String> computed = new ArrayList<>();
            for (Record column : dsl.resultQuery("show columns from {0}", table).fetch()) {
                String extra = String.valueOf(column.get("Extra")).toUpperCase(java.util.Locale.ROOT);
                // VIRTUAL / STORED / PERSISTENT GENERATED; not MySQL's DEFAULT_GENERATED (an expression default)
                if (extra.contains("GENERATED") && !extra.contains("DEFAULT_GENERATED")) {
                    computed.add(column.get("Field", String.class));
                }
            }
            return computed;
        }

        /**
         * How many of {@code rows} one statement carries: at most {@link #MAX_ROWS}, {@link #MAX_BINDS} binds and
         * {@link #BYTES_PER_STATEMENT} by estimate; always at least one.
         */
        @SuppressWarnings("unchecked")
        private static int rowsPerStatement(Field<?>[] fields, BitSet columns, List<? extends Record> rows) {
            int[] written = columns.stream().toArray();
            int limit = Math.min(rows.size(), Math.max(1, Math.min(MAX_ROWS, MAX_BINDS / Math.max(1, written.length))));
            Converter<Object, Object>[] converters = new Converter[written.length];
            for (int c = 0; c < written.length; c++) {
                Converter<?, ?> converter = fields[written[c]].getConverter();
                converters[c] = UpsertStatements.noConverter(converter) ? null : (Converter<Object, Object>) converter;
            }
            long bytes = 0;
            for (int r = 0; r < limit; r++) {
                Record row = rows.get(r);
                long size = 8L * written.length;
                for (int c = 0; c < written.length; c++) {
                    Object value = row.get(written[c]);
                    size += estimate(converters[c] == null || value == null ? value : converters[c].to(value));
                }
                if (r > 0 && bytes + size > BYTES_PER_STATEMENT) {
                    return r;
                }
                bytes += size;
            }
            return limit;
        }

        /** An upper bound of the bytes a value takes in the statement (UTF-8, escaped). */
        private static long estimate(Object value) {
            return switch (value) {
                case null -> 4;
                case String s -> 3L * s.length() + 2;
                case byte[] b -> 2L * b.length + 10;
                case JSON j -> 3L * j.data().length() + 2;
                case JSONB j -> 3L * j.data().length() + 2;
                default -> 32;
            };
        }

        /** Appends one row's binds, typed by the field (converters applied). */
        private static void appendValues(Sql sql, Field<?>[] fields, DataType<?>[] types, BitSet columns, Record row,
                boolean named) {
            boolean first = true;
            for (int i = 0; i < fields.length; i++) {
                if (!columns.get(i)) {
                    continue;
                }
                sql.sql(first ? "" : ", ").bind(fields[i], types[i], row.get(i));
                if (named) {
                    sql.sql(" as ").name(fields[i]);
                }
                first = false;
            }
        }

        /**
         * The fields as the stored rows are read back: an {@code OffsetDateTime} field under jOOQ's own binding reads
         * its column as {@link OffsetDateTimeFromUtc} does, the others as they are. Position by position (results are
         * read by index). On MySQL, whose driver's time-zone handling of {@code getObject(LocalDateTime)} is not
         * verified here (no MySQL server in the tests), the fields stay as they are.
         */
        private static Field<?>[] readFields(Field<?>[] fields, boolean mysql) {
            if (mysql) {
                return fields;
            }
            Field<?>[] read = fields;
            for (int i = 0; i < fields.length; i++) {
                Converter<?, ?> converter = fields[i].getConverter();
                if (converter.fromType() == OffsetDateTime.class
                        && Timestamps.jooqsBinding(fields[i].getBinding(), OffsetDateTime.class)) {
                    read = read == fields ? fields.clone() : read;
                    // a converter of the user's (even from OffsetDateTime to itself) runs on what was read
                    @SuppressWarnings("unchecked")
                    DataType<?> type = UpsertStatements.noConverter(converter) ? OffsetDateTimeFromUtc.TYPE
                            : OffsetDateTimeFromUtc.TYPE.asConvertedDataType((Converter<OffsetDateTime, Object>) converter);
                    read[i] = DSL.field(fields[i].getUnqualifiedName(), type);
                }
            }
            return read;
        }

        /**
         * The fields' types, NOT NULL: jOOQ types a non-null bind with {@code notNull()} of its field's type, which
         * builds a new data type per value unless given one already ({@link UpsertStatements.Bind#param}).
         */
        private static DataType<?>[] notNullTypes(Field<?>[] fields) {
            DataType<?>[] types = new DataType<?>[fields.length];
            for (int i = 0; i < fields.length; i++) {
                types[i] = fields[i].getDataType().notNull();
            }
            return types;
        }

        @SuppressWarnings("unchecked")
        private static Record insertReturning(DSLContext dsl, Table<?> table, Field<?>[] fields, BitSet columns, Record row) {
            var insert = dsl.insertInto((Table<Record>) table);
            org.jooq.InsertSetMoreStep<Record> set = null;
            for (int i = 0; i < fields.length; i++) {
                if (columns.get(i)) {
                    set = set == null ? insert.set((Field<Object>) fields[i], row.get(i)) : set.set((Field<Object>) fields[i], row.get(i));
                }
            }
            return (set == null ? insert.defaultValues() : set).returning(fields).fetchOne();
        }
    }

    /**
     * Lets classes generated from PostgreSQL ({@code timestamptz} as {@link OffsetDateTime}) write MariaDB/MySQL
     * {@code TIMESTAMP} columns: jOOQ sends an {@code OffsetDateTime} there as text with an offset, which MariaDB
     * rejects. The value is sent instead as the same instant in UTC, and the {@link Database}'s connections use the
     * session time zone {@code +00:00}, so the server stores exactly that instant.
     */
    static final class Timestamps implements VisitListener {
        /**
         * {@code LOCALDATETIME}, bound as {@link LocalDateTimeAsObject} binds it; NOT NULL, as jOOQ types a bind
         * value (it would otherwise build that type anew per value).
         */
        static final DataType<LocalDateTime> UTC_DATETIME =
                SQLDataType.LOCALDATETIME.asConvertedDataType(new LocalDateTimeAsObject()).notNull();

        /**
         * An {@code OffsetDateTime} becomes its UTC wall-clock time, a {@code LocalDateTime} stays as it is; both
         * are then set with {@code setObject} (see {@link LocalDateTimeAsObject}). Only values that jOOQ's own
         * binding would send: a user's {@code Binding} sends its own; a user's {@code Converter} (even from a type
         * to itself) runs first, and what it returns is sent as above.
         */
        @Override
        public void visitStart(VisitContext context) {
            if (!(context.queryPart() instanceof Param<?> param) || param.getValue() == null) {
                return;
            }
            @SuppressWarnings("unchecked")
            Converter<Object, Object> converter = (Converter<Object, Object>) param.getConverter();
            Class<?> sent = converter.fromType();
            if (sent != OffsetDateTime.class && sent != LocalDateTime.class || !jooqsBinding(param.getBinding(), sent)) {
                return;
            }
            Object value = UpsertStatements.noConverter(converter) ? param.getValue() : converter.to(param.getValue());
            if (value instanceof OffsetDateTime time) {
                context.queryPart(DSL.val(time.withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime(), UTC_DATETIME));
            } else if (value instanceof LocalDateTime time) {
                context.queryPart(DSL.val(time, UTC_DATETIME));
            }
        }

        /**
         * Whether {@code binding} is jOOQ's own for values sent as {@code sent} (the converter's database type): no
         * user's {@code Binding}.
         */
        static boolean jooqsBinding(Binding<?, ?> binding, Class<?> sent) {
            String name = binding.getClass().getName();
            // jOOQ binds LocalDateTime through its DelegatingBinding (over its Timestamp binding).
            return name.startsWith("org.jooq.impl.DefaultBinding$Default")
                    || name.equals("org.jooq.impl.DefaultBinding$DelegatingBinding") && sent == LocalDateTime.class;
        }
    }

    /**
     * jOOQ's binding of {@code LocalDateTime}, except that a value is set with {@code setObject(index,
     * LocalDateTime)} rather than as a {@code java.sql.Timestamp}. jOOQ's way makes a {@code Timestamp} of the
     * value in the JVM's default time zone, which the driver formats back through a {@code Calendar} and a new
     * {@code SimpleDateFormat} per value: the costliest part of a {@code saveAll} on MariaDB (a seventh of its
     * client CPU), and wrong by an hour for a wall-clock time that does not exist in the JVM's zone (the gap when
     * daylight saving time starts): a UTC instant such as {@code 2026-03-29T02:30Z} was stored as 03:30 by a JVM
     * in Europe/Berlin. The driver writes a {@code LocalDateTime} as it is, to the microsecond (as it writes a
     * {@code Timestamp}).
     */
    static final class LocalDateTimeAsObject implements Binding<LocalDateTime, LocalDateTime> {
        @SuppressWarnings("unchecked")
        private static final Binding<Object, LocalDateTime> JOOQ =
                (Binding<Object, LocalDateTime>) SQLDataType.LOCALDATETIME.getBinding();
        private static final Converter<LocalDateTime, LocalDateTime> IDENTITY =
                Converter.ofNullable(LocalDateTime.class, LocalDateTime.class, v -> v, v -> v);

        @Override
        public Converter<LocalDateTime, LocalDateTime> converter() {
            return IDENTITY;
        }

        @Override
        public void sql(BindingSQLContext<LocalDateTime> ctx) throws SQLException {
            JOOQ.sql(ctx);
        }

        @Override
        public void register(BindingRegisterContext<LocalDateTime> ctx) throws SQLException {
            JOOQ.register(ctx);
        }

        @Override
        public void set(BindingSetStatementContext<LocalDateTime> ctx) throws SQLException {
            if (ctx.value() == null) {
                JOOQ.set(ctx);
            } else {
                ctx.statement().setObject(ctx.index(), ctx.value());
            }
        }

        @Override
        public void set(BindingSetSQLOutputContext<LocalDateTime> ctx) throws SQLException {
            JOOQ.set(ctx);
        }

        @Override
        public void get(BindingGetResultSetContext<LocalDateTime> ctx) throws SQLException {
            JOOQ.get(ctx);
        }

        @Override
        public void get(BindingGetStatementContext<LocalDateTime> ctx) throws SQLException {
            JOOQ.get(ctx);
        }

        @Override
        public void get(BindingGetSQLInputContext<LocalDateTime> ctx) throws SQLException {
            JOOQ.get(ctx);
        }
    }

    /**
     * jOOQ's binding of {@code OffsetDateTime}, except that a {@code TIMESTAMP} or {@code DATETIME} column is read
     * with {@code getObject(index, LocalDateTime.class)}, as the UTC wall-clock time it is in the library's
     * sessions ({@code time_zone = '+00:00'}). jOOQ reads the column's text with {@code getString}, which
     * Connector/J builds by moving the value through the JVM's default time zone and formatting it (with
     * {@code String.format}) for jOOQ to parse again: the costliest part of reading back the rows a
     * {@code saveAll} stored (an eighth of its client CPU at N = 100,000), and an hour late for a wall-clock time that does not
     * exist in the JVM's zone (the gap when daylight saving time starts). A column of another type (text holding
     * an offset), NULL and a zero date are read as jOOQ reads them. Used by the upsert statements' read-back only;
     * thread-safe.
     */
    static final class OffsetDateTimeFromUtc implements Binding<OffsetDateTime, OffsetDateTime> {
        @SuppressWarnings("unchecked")
        private static final Binding<Object, OffsetDateTime> JOOQ =
                (Binding<Object, OffsetDateTime>) SQLDataType.OFFSETDATETIME.getBinding();
        private static final Converter<OffsetDateTime, OffsetDateTime> IDENTITY =
                Converter.ofNullable(OffsetDateTime.class, OffsetDateTime.class, v -> v, v -> v);
        static final DataType<OffsetDateTime> TYPE = SQLDataType.OFFSETDATETIME.asConvertedDataType(new OffsetDateTimeFromUtc());

        @Override
        public Converter<OffsetDateTime, OffsetDateTime> converter() {
            return IDENTITY;
        }

        @Override
        public void sql(BindingSQLContext<OffsetDateTime> ctx) throws SQLException {
            JOOQ.sql(ctx);
        }

        @Override
        public void register(BindingRegisterContext<OffsetDateTime> ctx) throws SQLException {
            JOOQ.register(ctx);
        }

        @Override
        public void set(BindingSetStatementContext<OffsetDateTime> ctx) throws SQLException {
            JOOQ.set(ctx);
        }

        @Override
        public void set(BindingSetSQLOutputContext<OffsetDateTime> ctx) throws SQLException {
            JOOQ.set(ctx);
        }

        @Override
        public void get(BindingGetResultSetContext<OffsetDateTime> ctx) throws SQLException {
            ResultSet results = ctx.resultSet();
            if (results.getMetaData().getColumnType(ctx.index()) != java.sql.Types.TIMESTAMP) {
                JOOQ.get(ctx);
                return;
            }
            LocalDateTime value = results.getObject(ctx.index(), LocalDateTime.class);
            if (value == null) {
                // NULL, or a zero date ('0000-00-00'), which Connector/J reads as null too: as jOOQ reads it (it
                // fails on a zero date)
                JOOQ.get(ctx);
                return;
            }
            ctx.value(value.atOffset(ZoneOffset.UTC));
        }

        @Override
        public void get(BindingGetStatementContext<OffsetDateTime> ctx) throws SQLException {
            JOOQ.get(ctx);
        }

        @Override
        public void get(BindingGetSQLInputContext<OffsetDateTime> ctx) throws SQLException {
            JOOQ.get(ctx);
        }
    }
}
