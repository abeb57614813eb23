package dev.sqlservice.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * MariaDB's (and MySQL's) side of the harness. The migrated state is captured once per database: every base table,
 * the rows the migrations put in it copied into the sibling database {@code <name>_seed} (made only when some table
 * has rows), and its {@code AUTO_INCREMENT}.
 *
 * <p>Before each test: a table the migrations left empty is unchanged when {@code EXISTS (SELECT 1 ...)} finds no
 * row (one query for all of them); a table with seed rows when {@code CHECKSUM TABLE} gives the captured checksum
 * (one statement for all of them); and every table when its {@code AUTO_INCREMENT} is the captured one (one
 * query). Changed tables are truncated with foreign key checks off, refilled from their copy, and their
 * {@code AUTO_INCREMENT} set back. Triggers cannot be switched off on MariaDB: a trigger that writes on insert
 * fires when seed rows are copied back.
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
    public Snapshot capture(Connection c, String database) throws SQLException {
        List<Table> tables = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
                select t.table_name, t.auto_increment,
                       (select group_concat(concat('`', replace(k.column_name, '`', '``'), '`') order by k.ordinal_position)
                          from information_schema.columns k
                         where k.table_schema = t.table_schema and k.table_name = t.table_name
                           and k.extra not like '%GENERATED%' and k.extra not like '%VIRTUAL%'
                           and k.extra not like '%PERSISTENT%' and k.extra not like '%STORED%')
                  from information_schema.tables t
                 where t.table_schema = database() and t.table_type = 'BASE TABLE'
                   and t.table_name <> 'flyway_schema_history'
                 order by t.table_name""")) {
            while (r.next()) {
                long increment = r.getLong(2);
                tables.add(new Table(r.getString(1), r.wasNull() ? null : increment, r.getString(3)));
            }
        }
        if (tables.isEmpty()) {
            return new Snapshot(database, List.of());
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
        Snapshot snapshot = new Snapshot(database, tables);
        if (anySeed) {
            try (Statement s = c.createStatement()) {
                s.execute("create database " + quote(seedDatabase(database)));
                for (Table t : tables) {
                    if (t.seeded) {
                        s.execute("create table " + snapshot.copy(t) + " as select * from " + quote(t.name));
                    }
                }
            }
            Map<String, Long> sums = snapshot.checksums(c);
            tables.stream().filter(t -> t.seeded).forEach(t -> t.checksum = sums.get(t.name));
        }
        return snapshot;
    }

    private static final class Table {
        final String name;
        final Long autoIncrement;
        final String columns;
        boolean seeded;
        Long checksum;

        Table(String name, Long autoIncrement, String columns) {
            this.name = name;
            this.autoIncrement = autoIncrement;
            this.columns = columns;
        }
    }

    private static final class Snapshot implements Backend.Snapshot {
        private final String database;
        private final List<Table> tables;
        private final String existsQuery;
        private final String checksumStatement;

        Snapshot(String database, List<Table> tables) {
            this.database = database;
            this.tables = tables;
            StringJoiner exists = new StringJoiner(" union all ");
            StringJoiner checksum = new StringJoiner(", ", "checksum table ", "");
            for (Table t : tables) {
                if (t.seeded) {
                    checksum.add(quote(t.name));
                } else {
                    exists.add("select " + tables.indexOf(t) + ", exists (select 1 from " + quote(t.name) + ")");
                }
            }
            this.existsQuery = exists.length() == 0 ? null : exists.toString();
            this.checksumStatement = tables.stream().anyMatch(t -> t.seeded) ? checksum.toString() : null;
        }

        String copy(Table t) {
            return quote(seedDatabase(database)) + "." + quote(t.name);
        }

        Map<String, Long> checksums(Connection c) throws SQLException {
            Map<String, Long> sums = new HashMap<>();
            if (checksumStatement == null) {
                return sums;
            }
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(checksumStatement)) {
                while (r.next()) {
                    String table = r.getString(1);
                    sums.put(table.substring(table.indexOf('.') + 1), r.getLong(2));
                }
            }
            return sums;
        }

        @Override
        public int reset(Connection c) throws SQLException {
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
            Map<String, Long> sums = checksums(c);
            for (Table t : tables) {
                if (t.seeded && !Objects.equals(sums.get(t.name), t.checksum)) {
                    changed.add(t);
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
