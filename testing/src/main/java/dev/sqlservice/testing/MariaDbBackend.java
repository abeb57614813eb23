package dev.sqlservice.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * MariaDB's (and MySQL's) side of the harness. The migrated state is captured once per database: every base table,
 * the rows the migrations put in it copied into the sibling database {@code <name>_seed} (made only when some table
 * has rows), and its {@code AUTO_INCREMENT}; every sequence ({@code CREATE SEQUENCE}, MariaDB) with its
 * {@code next_not_cached_value}, after a {@code RESTART} at that value that empties its cache.
 *
 * <p>Before each test: a table the migrations left empty is unchanged when {@code EXISTS (SELECT 1 ...)} finds no
 * row; a table with seed rows when it has as many rows as its copy and {@code EXCEPT ALL} finds none of its rows
 * missing from the copy, every text column compared as {@code CAST(... AS BINARY)} (other columns as they are, so
 * that a FLOAT is compared exactly) so that case, accents or trailing
 * spaces a collation would ignore still count (exact; MariaDB 10.5+, MySQL 8.0.31+); every table when its
 * {@code AUTO_INCREMENT} is the captured one; every sequence when its {@code next_not_cached_value} is (one query
 * each). Changed tables are truncated with foreign key checks off, refilled from their copy, and their
 * {@code AUTO_INCREMENT} set back; sequences that moved are restarted at their captured value. Triggers cannot be
 * switched off on MariaDB: a trigger that writes on insert fires when seed rows are copied back.
 *
 * <p>The schema's fingerprint is one {@code information_schema} query (tables, columns with their defaults,
 * indexes, constraints, triggers and routines with their bodies, view definitions of the test database). Not seen:
 * sequence options, grants, comments.
 */
final class MariaDbBackend implements Backend {

    @Override
    public String createDatabase(String name) {
        return "create database " + quote(name);
    }

    @Override
    public String[] dropDatabase(String name) {
        return new String[] {"drop database if exists " + quote(name), "drop database if exists " + quote(seedDatabase(name))};
    }

    @Override
    public String createDatabaseRight(String user) {
        return "the right to create and drop databases: grant create, drop, alter, index, references, select, insert,"
                + " update, delete, create view, trigger on *.* to " + quote(user) + " (or on `sqlservice\\_test\\_%`.*)";
    }

    @Override
    public boolean isMissingRight(SQLException e) {
        return e.getErrorCode() == 1044 || e.getErrorCode() == 1045 || e.getErrorCode() == 1142;
    }

    static String quote(String identifier) {
        return '`' + identifier.replace("`", "``") + '`';
    }

    private static String seedDatabase(String database) {
        return database + "_seed";
    }

    @Override
    public void endSessions(Connection admin, String database) throws SQLException {
        List<Long> ids = new ArrayList<>();
        try (PreparedStatement p = admin.prepareStatement("select id from information_schema.processlist"
                + " where db in (?, ?) and id <> connection_id()")) {
            p.setString(1, database);
            p.setString(2, seedDatabase(database));
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    ids.add(r.getLong(1));
                }
            }
        }
        kill(admin, ids);
    }

    /** Kills these sessions; one that ended meanwhile is no failure. */
    private static void kill(Connection c, List<Long> ids) throws SQLException {
        try (Statement s = c.createStatement()) {
            for (long id : ids) {
                try {
                    s.execute("kill connection " + id); // a number the server gave; KILL takes no parameter
                } catch (SQLException e) {
                    if (e.getErrorCode() != 1094) { // unknown thread id: it ended already
                        throw e;
                    }
                }
            }
        }
    }

    @Override
    public void configureSession(Connection connection, int seconds) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("set session lock_wait_timeout = " + seconds + ", session innodb_lock_wait_timeout = " + seconds
                    + ", session group_concat_max_len = 1073741824");
        }
    }

    @Override
    public boolean isLockTimeout(SQLException e) {
        return e.getErrorCode() == 1205;
    }

    @Override
    public List<String> endTransactions(Connection c) throws SQLException {
        List<String> ended = new ArrayList<>();
        List<Long> ids = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
                select p.id, p.user, p.command, p.time, coalesce(p.state, ''), left(coalesce(p.info, ''), 200),
                       (select min(x.trx_started) from information_schema.innodb_trx x where x.trx_mysql_thread_id = p.id)
                  from information_schema.processlist p
                 where p.db = database() and p.id <> connection_id()
                   and (p.command not in ('Sleep', 'Daemon')
                        or p.id in (select x.trx_mysql_thread_id from information_schema.innodb_trx x))
                 order by p.id""")) {
            while (r.next()) {
                ids.add(r.getLong(1));
                String query = r.getString(6);
                ended.add("thread " + r.getLong(1) + " (user '" + r.getString(2) + "', " + r.getString(3) + " for "
                        + r.getLong(4) + " s" + (r.getString(7) == null ? "" : ", transaction open since "
                        + r.getString(7)) + (r.getString(5).isEmpty() ? "" : ", " + r.getString(5))
                        + ", query now: " + (query.isEmpty() ? "none (MariaDB shows no last query)" : query) + ")");
            }
        }
        kill(c, ids);
        return ended;
    }

    @Override
    public Snapshot capture(Connection c, String database) throws SQLException {
        List<Table> tables = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
                select t.table_name, t.auto_increment,
                       (select group_concat(concat('`', replace(k.column_name, '`', '``'), '`') order by k.ordinal_position)
                          from information_schema.columns k
                         where k.table_schema = t.table_schema and k.table_name = t.table_name
                           and k.extra not like '%GENERATED%' and k.extra not like '%VIRTUAL%'
                           and k.extra not like '%PERSISTENT%' and k.extra not like '%STORED%'),
                       (select group_concat(if(k.data_type in ('char', 'varchar', 'tinytext', 'text', 'mediumtext',
                                                                'longtext', 'enum', 'set', 'json'),
                                               concat('cast(`', replace(k.column_name, '`', '``'), '` as binary)'),
                                               concat('`', replace(k.column_name, '`', '``'), '`'))
                                            order by k.ordinal_position separator ', ')
                          from information_schema.columns k
                         where k.table_schema = t.table_schema and k.table_name = t.table_name),
                       (select group_concat(concat('`', replace(k.column_name, '`', '``'), '`') order by k.ordinal_position)
                          from information_schema.columns k
                         where k.table_schema = t.table_schema and k.table_name = t.table_name)
                  from information_schema.tables t
                 where t.table_schema = database() and t.table_type = 'BASE TABLE'
                   and t.table_name <> 'flyway_schema_history'
                 order by t.table_name""")) {
            while (r.next()) {
                long increment = r.getLong(2);
                tables.add(new Table(r.getString(1), r.wasNull() ? null : increment, r.getString(3), r.getString(4),
                        r.getString(5)));
            }
        }
        Map<String, Long> sequences = sequences(c);
        if (!sequences.isEmpty()) {
            // A sequence the migrations used may hold cached values, which the first test would take and the next
            // ones (after a RESTART) not: empty its cache now, at the value a server restart would give.
            try (Statement s = c.createStatement()) {
                for (Map.Entry<String, Long> e : sequences.entrySet()) {
                    s.execute("alter sequence " + quote(e.getKey()) + " restart with " + e.getValue());
                }
            }
        }
        if (tables.isEmpty()) {
            Snapshot snapshot = new Snapshot(database, List.of(), sequences);
            snapshot.fingerprint = fingerprint(c);
            return snapshot;
        }
        StringJoiner exists = new StringJoiner(" union all ");
        for (int i = 0; i < tables.size(); i++) {
            exists.add("select " + i + ", exists (select 1 from " + quote(tables.get(i).name) + ")");
        }
        boolean anySeed = false;
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(exists.toString())) {
            while (r.next()) {
                if (r.getBoolean(2)) {
                    tables.get(r.getInt(1)).seeded = true;
                    anySeed = true;
                }
            }
        }
        if (anySeed) {
            try (Statement s = c.createStatement()) {
                s.execute("create database " + quote(seedDatabase(database)));
                for (Table t : tables) {
                    if (t.seeded) {
                        // Every column by name: "select *" leaves INVISIBLE columns out.
                        s.execute("create table " + copy(database, t) + " as select " + t.allColumns + " from " + quote(t.name));
                        try (ResultSet r = s.executeQuery("select count(*) from " + copy(database, t))) {
                            r.next();
                            t.rows = r.getLong(1);
                        }
                    }
                }
            }
        }
        Snapshot snapshot = new Snapshot(database, tables, sequences);
        snapshot.fingerprint = fingerprint(c);
        return snapshot;
    }

    private static String copy(String database, Table t) {
        return quote(seedDatabase(database)) + "." + quote(t.name);
    }

    /** Every sequence of the database ({@code CREATE SEQUENCE}, MariaDB) and its {@code next_not_cached_value}. */
    private static Map<String, Long> sequences(Connection c) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("select table_name from"
                + " information_schema.tables where table_schema = database() and table_type = 'SEQUENCE'"
                + " order by table_name")) {
            while (r.next()) {
                names.add(r.getString(1));
            }
        }
        Map<String, Long> values = new LinkedHashMap<>();
        if (names.isEmpty()) {
            return values;
        }
        StringJoiner q = new StringJoiner(" union all ");
        for (int i = 0; i < names.size(); i++) {
            q.add("select " + i + ", next_not_cached_value from " + quote(names.get(i)));
        }
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(q.toString())) {
            while (r.next()) {
                values.put(names.get(r.getInt(1)), r.getLong(2));
            }
        }
        return values;
    }

    private static final String FINGERPRINT = """
            select md5(concat_ws('#',
              (select group_concat(concat_ws(' ', table_name, table_type, engine) order by table_name separator ',')
                 from information_schema.tables where table_schema = database()),
              (select group_concat(concat_ws(' ', table_name, column_name, ordinal_position, column_type, is_nullable,
                                             column_default, extra, collation_name)
                                   order by table_name, ordinal_position separator ',')
                 from information_schema.columns where table_schema = database()),
              (select group_concat(concat_ws(' ', table_name, index_name, seq_in_index, column_name, non_unique)
                                   order by table_name, index_name, seq_in_index separator ',')
                 from information_schema.statistics where table_schema = database()),
              (select group_concat(concat_ws(' ', table_name, constraint_name, constraint_type)
                                   order by table_name, constraint_name, constraint_type separator ',')
                 from information_schema.table_constraints where table_schema = database()),
              (select group_concat(concat_ws(' ', trigger_name, event_object_table, action_timing, event_manipulation,
                                             md5(action_statement))
                                   order by trigger_name separator ',')
                 from information_schema.triggers where trigger_schema = database()),
              (select group_concat(concat_ws(' ', routine_name, routine_type, md5(routine_definition))
                                   order by routine_name, routine_type separator ',')
                 from information_schema.routines where routine_schema = database()),
              (select group_concat(concat_ws(' ', table_name, md5(view_definition)) order by table_name separator ',')
                 from information_schema.views where table_schema = database())))""";

    static String fingerprint(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(FINGERPRINT)) {
            r.next();
            return r.getString(1);
        }
    }

    private static final class Table {
        final String name;
        final Long autoIncrement;
        final String columns;
        /** Every column as {@code CAST(... AS BINARY)}, generated ones too: what the exact comparison reads. */
        final String compared;
        boolean seeded;
        long rows;

        /** Every column by name, INVISIBLE and generated ones too: what the seed copy holds. */
        final String allColumns;

        Table(String name, Long autoIncrement, String columns, String compared, String allColumns) {
            this.allColumns = allColumns;
            this.name = name;
            this.autoIncrement = autoIncrement;
            this.columns = columns;
            this.compared = compared;
        }
    }

    private static final class Snapshot implements Backend.Snapshot {
        private final String database;
        private final List<Table> tables;
        private final Map<String, Long> sequences;
        private final String existsQuery;
        private final String sameQuery;
        String fingerprint;

        Snapshot(String database, List<Table> tables, Map<String, Long> sequences) {
            this.database = database;
            this.tables = tables;
            this.sequences = sequences;
            StringJoiner exists = new StringJoiner(" union all ");
            StringJoiner same = new StringJoiner(" union all ");
            for (Table t : tables) {
                int i = tables.indexOf(t);
                if (t.seeded) {
                    same.add("select " + i + ", (select count(*) from " + quote(t.name) + ") = " + t.rows
                            + " and not exists (select " + t.compared + " from " + quote(t.name) + " except all select "
                            + t.compared + " from " + MariaDbBackend.copy(database, t) + ")");
                } else {
                    exists.add("select " + i + ", exists (select 1 from " + quote(t.name) + ")");
                }
            }
            this.existsQuery = exists.length() == 0 ? null : exists.toString();
            this.sameQuery = same.length() == 0 ? null : same.toString();
        }

        String copy(Table t) {
            return MariaDbBackend.copy(database, t);
        }

        @Override
        public boolean schemaChanged(Connection c) throws SQLException {
            return !fingerprint.equals(fingerprint(c));
        }

        @Override
        public int reset(Connection c) throws SQLException {
            Map<String, Long> moved = new LinkedHashMap<>();
            if (!sequences.isEmpty()) {
                sequences(c).forEach((name, now) -> {
                    Long then = sequences.get(name);
                    if (then != null && !then.equals(now)) {
                        moved.put(name, then);
                    }
                });
                try (Statement s = c.createStatement()) {
                    for (Map.Entry<String, Long> e : moved.entrySet()) {
                        s.execute("alter sequence " + quote(e.getKey()) + " restart with " + e.getValue());
                    }
                }
            }
            if (tables.isEmpty()) {
                return 0;
            }
            List<Table> changed = new ArrayList<>();
            if (existsQuery != null) {
                try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(existsQuery)) {
                    while (r.next()) {
                        if (r.getBoolean(2)) {
                            changed.add(tables.get(r.getInt(1)));
                        }
                    }
                }
            }
            if (sameQuery != null) {
                try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sameQuery)) {
                    while (r.next()) {
                        if (!r.getBoolean(2)) {
                            changed.add(tables.get(r.getInt(1)));
                        }
                    }
                }
            }
            List<Table> counters = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(
                    "select table_name, auto_increment from information_schema.tables where table_schema = database()"
                            + " and table_type = 'BASE TABLE'")) {
                Map<String, Long> now = new HashMap<>();
                while (r.next()) {
                    long value = r.getLong(2);
                    now.put(r.getString(1), r.wasNull() ? null : value);
                }
                for (Table t : tables) {
                    if (!Objects.equals(now.get(t.name), t.autoIncrement)) {
                        counters.add(t);
                    }
                }
            }
            if (changed.isEmpty() && counters.isEmpty()) {
                return 0;
            }
            try (Statement s = c.createStatement()) {
                s.execute("set foreign_key_checks = 0");
                try {
                    for (Table t : changed) {
                        s.execute("truncate table " + quote(t.name));
                        if (t.seeded) {
                            s.execute("insert into " + quote(t.name) + " (" + t.columns + ") select " + t.columns
                                    + " from " + copy(t));
                        }
                        if (!counters.contains(t) && t.autoIncrement != null) {
                            counters.add(t);
                        }
                    }
                    for (Table t : counters) {
                        if (t.autoIncrement != null) {
                            s.execute("alter table " + quote(t.name) + " auto_increment = " + t.autoIncrement);
                        }
                    }
                } finally {
                    s.execute("set foreign_key_checks = 1");
                }
            }
            return changed.size();
        }
    }
}
