package dev.sqlservice;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.ForeignKey;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.TableField;
import org.jooq.UniqueKey;
import org.jooq.UpdatableRecord;
import org.jooq.exception.DataAccessException;

/**
 * The plan of a {@code saveAll}: checks the records (before any SQL), groups them into statements by table and
 * set of changed fields, orders the groups parents-first and the rows by primary key, then runs the statements
 * chunk by chunk and refreshes each record from the row the database returns.
 */
final class Upserts {

    /** Records with the same table and the same columns to write: one statement per chunk of them. */
    record Group<R extends UpdatableRecord<?>>(Table<?> table, BitSet columns, boolean generatedKey, List<R> records) {}

    static <R extends UpdatableRecord<?>> Plan<R> plan(Collection<? extends R> records, SQLDialect dialect) {
        Objects.requireNonNull(records, "records == null");
        List<R> inputs = new ArrayList<>(records.size());
        Map<R, Integer> seen = new IdentityHashMap<>();
        Map<Table<?>, Map<List<Object>, Integer>> keysByTable = new HashMap<>();
        Map<Table<?>, List<Entry<R>>> keyedByTable = new LinkedHashMap<>();
        Map<Table<?>, Map<BitSet, List<R>>> generatedByTable = new HashMap<>();
        Map<Table<?>, KeyShape> shapes = new HashMap<>();
        int index = 0;
        for (R record : records) {
            if (record == null) {
                throw new NullPointerException("records[" + index + "] == null");
            }
            Integer earlier = seen.put(record, index);
            if (earlier != null) {
                throw new IllegalArgumentException("records[" + earlier + "] and records[" + index
                        + "] are the same instance; save each record once");
            }
            Table<?> table = record.getTable();
            UniqueKey<?> primaryKey = table.getPrimaryKey();
            if (primaryKey == null) {
                throw new IllegalArgumentException("records[" + index + "] is a record of table " + table.getName()
                        + ", which has no primary key; save and saveAll upsert by primary key");
            }
            KeyShape shape = shapes.computeIfAbsent(table, KeyShape::of);
            List<TableField<?, ?>> keyFields = shape.fields();
            Object[] key = new Object[keyFields.size()];
            int nulls = 0;
            for (int k = 0; k < key.length; k++) {
                key[k] = record.get(shape.indexes()[k]);
                nulls += key[k] == null ? 1 : 0;
            }
            if (nulls > 0 && nulls < key.length) {
                throw new IllegalArgumentException("records[" + index + "] sets only part of the primary key "
                        + describe(table, keyFields, key) + "; set all of it, or none for a generated key");
            }
            boolean generatedKey = nulls == key.length;
            if (!generatedKey) {
                Integer other = keysByTable.computeIfAbsent(table, t -> new HashMap<>()).put(Arrays.asList(key), index);
                if (other != null) {
                    throw new IllegalArgumentException("records[" + other + "] and records[" + index
                            + "] have the same primary key " + describe(table, keyFields, key));
                }
            }
            int size = record.size();
            BitSet columns = new BitSet(size);
            for (int f = 0; f < size; f++) {
                if (shape.isKey()[f] ? !generatedKey : record.touched(f)) {
                    columns.set(f);
                }
            }
            List<Entry<R>> keyed = keyedByTable.computeIfAbsent(table, t -> new ArrayList<>());
            if (generatedKey) {
                generatedByTable.computeIfAbsent(table, t -> new LinkedHashMap<>())
                        .computeIfAbsent(columns, c -> new ArrayList<>())
                        .add(record);
            } else {
                keyed.add(new Entry<>(record, columns));
            }
            inputs.add(record);
            index++;
        }
        List<Group<R>> groups = new ArrayList<>();
        for (Table<?> table : parentsFirst(keyedByTable.keySet())) {
            // One pass over the table's rows in primary-key order, a statement per run of rows that set the same
            // columns: every saveAll then locks keys in the same global order, so overlapping calls cannot deadlock.
            List<Entry<R>> keyed = keyedByTable.get(table);
            keyed.sort(Comparator.comparing(Entry::record, byPrimaryKey(primaryKeyIndexes(table))));
            for (int from = 0; from < keyed.size(); ) {
                BitSet columns = keyed.get(from).columns();
                int to = from;
                List<R> run = new ArrayList<>();
                while (to < keyed.size() && keyed.get(to).columns().equals(columns)) {
                    run.add(keyed.get(to++).record());
                }
                groups.add(new Group<>(table, columns, false, run));
                from = to;
            }
            generatedByTable.getOrDefault(table, Map.of())
                    .forEach((columns, members) -> groups.add(new Group<>(table, columns, true, members)));
        }
        return new Plan<>(Collections.unmodifiableList(inputs), groups, UpsertStatements.forDialect(dialect));
    }

    /** What one {@code saveAll} will run. Immutable; {@link #execute} runs on one connection. */
    static final class Plan<R extends UpdatableRecord<?>> {
        private final List<R> records;
        private final List<Group<R>> groups;
        private final UpsertStatements statements;

        private Plan(List<R> records, List<Group<R>> groups, UpsertStatements statements) {
            this.records = records;
            this.groups = groups;
            this.statements = statements;
        }

        boolean isEmpty() {
            return records.isEmpty();
        }

        List<R> records() {
            return records;
        }

        /** One run of this plan: remembers each record it refreshed, to put them back if the run fails. */
        Attempt<R> attempt() {
            return new Attempt<>(this);
        }

        private void refresh(Group<R> group, List<R> rows, List<? extends Record> stored, DSLContext dsl,
                List<Snapshot> refreshed) {
            if (group.generatedKey()) {
                if (stored.size() != rows.size()) {
                    throw new DataAccessException("inserted " + rows.size() + " rows into " + group.table().getName()
                            + " but the database returned " + stored.size());
                }
                for (int i = 0; i < rows.size(); i++) {
                    refreshed.add(copy(stored.get(i), rows.get(i)));
                }
                return;
            }
            int[] key = primaryKeyIndexes(group.table());
            Map<List<Object>, R> pending = new HashMap<>(rows.size() * 2);
            for (R row : rows) {
                pending.put(keyOf(row, key), row);
            }
            for (Record row : stored) {
                R target = pending.remove(keyOf(row, key));
                if (target != null) {
                    refreshed.add(copy(row, target));
                }
            }
            if (!pending.isEmpty()) {
                for (Record row : statements.select(dsl, group.table(), primaryKeyFields(group.table()), pending.keySet())) {
                    R target = pending.remove(keyOf(row, key));
                    if (target != null) {
                        refreshed.add(copy(row, target));
                    }
                }
            }
            if (!pending.isEmpty()) {
                throw new DataAccessException("rows of " + group.table().getName() + " vanished while being saved: "
                        + pending.keySet() + " (deleted by a concurrent transaction?)");
            }
        }
    }

    /**
     * One run of a plan. {@link #execute} writes every chunk inside the caller's transaction; when that
     * transaction fails, at any point up to and including its commit, {@link #restore} puts every refreshed
     * record back as it was before the call.
     */
    static final class Attempt<R extends UpdatableRecord<?>> {
        private final Plan<R> plan;
        private final List<Snapshot> refreshed = new ArrayList<>();

        private Attempt(Plan<R> plan) {
            this.plan = plan;
        }

        List<R> execute(DSLContext dsl) {
            for (Group<R> group : plan.groups) {
                int chunk = plan.statements.rowsPerStatement(group);
                for (int from = 0; from < group.records().size(); from += chunk) {
                    List<R> rows = group.records().subList(from, Math.min(group.records().size(), from + chunk));
                    plan.refresh(group, rows, plan.statements.upsert(dsl, group, rows), dsl, refreshed);
                }
            }
            return plan.records;
        }

        void restore() {
            for (int i = refreshed.size() - 1; i >= 0; i--) {
                refreshed.get(i).restore();
            }
            refreshed.clear();
        }
    }

    /** A record's values, originals and changed flags, to put back when the save fails. */
    private record Snapshot(Record record, Object[] values, Object[] originals, boolean[] changed) {
        static Snapshot of(Record record) {
            int n = record.size();
            boolean[] changed = new boolean[n];
            Object[] values = new Object[n];
            Object[] originals = new Object[n];
            for (int i = 0; i < n; i++) {
                values[i] = record.get(i);
                changed[i] = record.touched(i);
                // An unchanged field's original is its value; reading it would copy the whole record.
                originals[i] = changed[i] ? record.original(i) : values[i];
            }
            return new Snapshot(record, values, originals, changed);
        }

        @SuppressWarnings("unchecked")
        void restore() {
            Field<Object>[] fields = (Field<Object>[]) record.fields();
            for (int i = 0; i < fields.length; i++) {
                record.set(fields[i], originals[i]);
            }
            record.touched(false);
            for (int i = 0; i < fields.length; i++) {
                record.set(fields[i], values[i]);
                record.touched(i, changed[i]);
            }
        }
    }

    private static Snapshot copy(Record from, Record to) {
        Snapshot before = Snapshot.of(to);
        // Setting values on a detached record makes jOOQ build a configuration per value; borrowing the
        // fetched row's configuration for the copy avoids that, and the record's own attachment is restored.
        org.jooq.Configuration previous = to.configuration();
        to.attach(from.configuration());
        try {
            to.fromArray(from.intoArray());
            to.touched(false);
        } finally {
            to.attach(previous);
        }
        return before;
    }

    private record Entry<R>(R record, BitSet columns) {}

    /** A table's primary key, computed once per table and call rather than once per record. */
    private record KeyShape(List<TableField<?, ?>> fields, int[] indexes, boolean[] isKey) {
        static KeyShape of(Table<?> table) {
            int[] indexes = primaryKeyIndexes(table);
            boolean[] isKey = new boolean[table.fields().length];
            for (int index : indexes) {
                isKey[index] = true;
            }
            return new KeyShape(primaryKeyFields(table), indexes, isKey);
        }
    }

    static List<TableField<?, ?>> primaryKeyFields(Table<?> table) {
        return table.getPrimaryKey().getFields().stream().<TableField<?, ?>>map(f -> f).toList();
    }

    /** Positions of the primary key's fields among the table's fields (index access avoids jOOQ's field lookup). */
    static int[] primaryKeyIndexes(Table<?> table) {
        return primaryKeyFields(table).stream().mapToInt(f -> table.indexOf(f)).toArray();
    }

    private static List<Object> keyOf(Record record, int[] key) {
        Object[] values = new Object[key.length];
        for (int i = 0; i < values.length; i++) {
            values[i] = record.get(key[i]);
        }
        return Arrays.asList(values);
    }

    private static <R extends UpdatableRecord<?>> Comparator<R> byPrimaryKey(int[] key) {
        return (a, b) -> {
            for (int index : key) {
                @SuppressWarnings("unchecked")
                Comparable<Object> x = (Comparable<Object>) a.get(index);
                int c = x.compareTo(b.get(index));
                if (c != 0) {
                    return c;
                }
            }
            return 0;
        };
    }

    /** Tables in an order where each comes after the tables it references (input order otherwise). */
    private static List<Table<?>> parentsFirst(Set<Table<?>> tables) {
        List<Table<?>> ordered = new ArrayList<>(tables.size());
        Set<Table<?>> remaining = new LinkedHashSet<>(tables);
        while (!remaining.isEmpty()) {
            Table<?> next = null;
            for (Table<?> candidate : remaining) {
                if (referencedAmong(candidate, remaining).isEmpty()) {
                    next = candidate;
                    break;
                }
            }
            // A reference cycle has no parent to go first: fall back to input order for what is left.
            Table<?> chosen = next != null ? next : remaining.iterator().next();
            ordered.add(chosen);
            remaining.remove(chosen);
        }
        return ordered;
    }

    private static List<Table<?>> referencedAmong(Table<?> table, Set<Table<?>> tables) {
        List<Table<?>> parents = new ArrayList<>();
        for (ForeignKey<?, ?> reference : table.getReferences()) {
            Table<?> parent = reference.getKey().getTable();
            if (!parent.equals(table) && tables.contains(parent)) {
                parents.add(parent);
            }
        }
        return parents;
    }

    private static String describe(Table<?> table, List<TableField<?, ?>> key, Object[] values) {
        StringBuilder s = new StringBuilder(table.getName()).append('(');
        for (int i = 0; i < key.size(); i++) {
            s.append(i == 0 ? "" : ", ").append(key.get(i).getName());
        }
        s.append(")=(");
        for (int i = 0; i < values.length; i++) {
            s.append(i == 0 ? "" : ", ").append(values[i]);
        }
        return s.append(')').toString();
    }

    private Upserts() {}
}
