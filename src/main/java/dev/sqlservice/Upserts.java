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
import java.util.TreeMap;
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
 * chunk by chunk, keeping the stored values that differ from the records' (from {@code RETURNING}, or a select
 * by key), and puts them into the records once the transaction has succeeded.
 */
final class Upserts {

    /** Records with the same table and the same columns to write: one statement per chunk of them. */
    record Group<R extends UpdatableRecord<?>>(Table<?> table, BitSet columns, boolean generatedKey, List<R> records) {}

    static <R extends UpdatableRecord<?>> Plan<R> plan(Collection<? extends R> records, SQLDialect dialect) {
        Objects.requireNonNull(records, "records == null");
        int count = records.size();
        List<R> inputs = new ArrayList<>(count);
        Map<Table<?>, List<Entry<R>>> keyedByTable = new LinkedHashMap<>();
        Map<Table<?>, Map<BitSet, List<R>>> generatedByTable = new HashMap<>();
        Map<R, Integer> generatedSeen = new IdentityHashMap<>();
        Map<Table<?>, KeyShape> shapes = new HashMap<>();
        // Most records of a call write the same columns: one BitSet per distinct set, not one per record.
        Map<BitSet, BitSet> columnSets = new HashMap<>();
        BitSet scratch = new BitSet();
        BitSet lastColumns = null;
        Table<?> lastTable = null;
        KeyShape lastShape = null;
        IllegalArgumentException firstDuplicate = null;
        int firstDuplicateAt = Integer.MAX_VALUE;
        int index = 0;
        for (R record : records) {
            if (record == null) {
                throw new NullPointerException("records[" + index + "] == null");
            }
            Table<?> table = record.getTable();
            KeyShape shape = table == lastTable ? lastShape : shapes.get(table);
            if (shape == null) {
                if (table.getPrimaryKey() == null) {
                    throw new IllegalArgumentException("records[" + index + "] is a record of table " + table.getName()
                            + ", which has no primary key; save and saveAll upsert by primary key");
                }
                shape = KeyShape.of(table);
                shapes.put(table, shape);
            }
            lastTable = table;
            lastShape = shape;
            int[] keyIndexes = shape.indexes();
            int nulls = 0;
            for (int k : keyIndexes) {
                nulls += record.get(k) == null ? 1 : 0;
            }
            if (nulls > 0 && nulls < keyIndexes.length) {
                throw new IllegalArgumentException("records[" + index + "] sets only part of the primary key "
                        + describe(table, shape.fields(), keyValues(record, keyIndexes)) + "; set all of it, or none for a generated key");
            }
            boolean generatedKey = nulls == keyIndexes.length;
            int size = record.size();
            scratch.clear();
            for (int f = 0; f < size; f++) {
                if (shape.isKey()[f] ? !generatedKey : record.touched(f)) {
                    scratch.set(f);
                }
            }
            BitSet columns = scratch.equals(lastColumns) ? lastColumns : columnSets.get(scratch);
            if (columns == null) {
                columns = (BitSet) scratch.clone();
                columnSets.put(columns, columns);
            }
            if (generatedKey) {
                Integer earlier = generatedSeen.put(record, index);
                if (earlier != null && firstDuplicate == null) {
                    firstDuplicate = sameInstance(earlier, index);
                    firstDuplicateAt = index;
                }
                generatedByTable.computeIfAbsent(table, t -> new LinkedHashMap<>())
                        .computeIfAbsent(columns, c -> new ArrayList<>())
                        .add(record);
            } else {
                List<Entry<R>> keyed = keyedByTable.get(table);
                if (keyed == null) {
                    keyed = new ArrayList<>(keyedByTable.isEmpty() ? count : 16);
                    keyedByTable.put(table, keyed);
                }
                keyed.add(Entry.of(record, columns, keyOf(record, keyIndexes), index));
            }
            lastColumns = columns;
            inputs.add(record);
            index++;
        }
        for (List<Entry<R>> keyed : keyedByTable.values()) {
            // Stable: entries with equal keys stay in input order, so duplicates end up side by side.
            keyed.sort(comparatorFor(keyed));
            Entry<R>[] pair = firstDuplicate(keyed);
            if (pair != null && pair[1].index() < firstDuplicateAt) {
                firstDuplicate = duplicate(pair[0], pair[1], shapes);
                firstDuplicateAt = pair[1].index();
            }
        }
        if (firstDuplicate != null) {
            throw firstDuplicate;
        }
        for (Table<?> table : generatedByTable.keySet()) {
            keyedByTable.putIfAbsent(table, new ArrayList<>());
        }
        List<Group<R>> groups = new ArrayList<>();
        for (Table<?> table : parentsFirst(keyedByTable.keySet())) {
            // One pass over the table's rows in primary-key order, a statement per run of rows that set the same
            // columns: every saveAll then locks keys in the same global order, so overlapping calls cannot deadlock.
            List<Entry<R>> keyed = keyedByTable.get(table);
            for (int from = 0; from < keyed.size(); ) {
                BitSet columns = keyed.get(from).columns();
                int to = from;
                while (to < keyed.size() && keyed.get(to).columns() == columns) {
                    to++;
                }
                List<R> run = new ArrayList<>(to - from);
                for (int i = from; i < to; i++) {
                    run.add(keyed.get(i).record());
                }
                groups.add(new Group<>(table, columns, false, run));
                from = to;
            }
            generatedByTable.getOrDefault(table, Map.of())
                    .forEach((columns, members) -> groups.add(new Group<>(table, columns, true, members)));
        }
        return new Plan<>(Collections.unmodifiableList(inputs), groups, UpsertStatements.forDialect(dialect));
    }

    /**
     * The first duplicate in input order among entries sorted by key (the adjacent pair whose later record comes
     * first): the same instance twice, or two records with the same primary key; null when there is none.
     */
    @SuppressWarnings("unchecked")
    private static <R extends UpdatableRecord<?>> Entry<R>[] firstDuplicate(List<Entry<R>> sorted) {
        Entry<R>[] pair = null;
        for (int i = 1; i < sorted.size(); i++) {
            Entry<R> a = sorted.get(i - 1);
            Entry<R> b = sorted.get(i);
            if (compareKeys(a.key(), b.key()) == 0 && (pair == null || b.index() < pair[1].index())) {
                pair = new Entry[] {a, b};
            }
        }
        return pair;
    }

    private static IllegalArgumentException duplicate(Entry<?> earlier, Entry<?> later, Map<Table<?>, KeyShape> shapes) {
        if (earlier.record() == later.record()) {
            return sameInstance(earlier.index(), later.index());
        }
        Record record = (Record) later.record();
        Table<?> table = ((UpdatableRecord<?>) record).getTable();
        KeyShape shape = shapes.get(table);
        return new IllegalArgumentException("records[" + earlier.index() + "] and records[" + later.index()
                + "] have the same primary key " + describe(table, shape.fields(), keyValues(record, shape.indexes())));
    }

    private static IllegalArgumentException sameInstance(int earlier, int later) {
        return new IllegalArgumentException("records[" + earlier + "] and records[" + later
                + "] are the same instance; save each record once");
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

        /** One run of this plan: collects what the database changed in each record, to apply after the commit. */
        Attempt<R> attempt() {
            return new Attempt<>(this);
        }
    }

    /**
     * One run of a plan. {@link #execute} writes every chunk inside the caller's transaction and leaves the
     * records alone: it only collects the stored values that differ from the records' values. Once that
     * transaction (or savepoint) has ended well, {@link #apply} puts those values into the records and resets
     * their changed flags. A run that fails never touches a record, so there is nothing to undo, and what the
     * run holds is the differences alone (none, when the database stores exactly what the records say).
     */
    static final class Attempt<R extends UpdatableRecord<?>> {
        private final Plan<R> plan;
        private final List<Change> changes = new ArrayList<>();

        private Attempt(Plan<R> plan) {
            this.plan = plan;
        }

        List<R> execute(DSLContext dsl) {
            for (Group<R> group : plan.groups) {
                int chunk = plan.statements.rowsPerStatement(group);
                for (int from = 0; from < group.records().size(); from += chunk) {
                    List<R> rows = group.records().subList(from, Math.min(group.records().size(), from + chunk));
                    refresh(group, rows, plan.statements.upsert(dsl, group, rows), dsl);
                }
            }
            return plan.records;
        }

        /**
         * Makes every record hold its row as stored, with no field marked changed. Runs on the caller's thread
         * after the transaction; {@code configuration} only lends jOOQ settings to detached records while their
         * values are set (without one jOOQ builds a configuration per value).
         */
        @SuppressWarnings("unchecked")
        void apply(org.jooq.Configuration configuration) {
            for (int from = 0; from < changes.size(); ) {
                Record record = changes.get(from).record();
                org.jooq.Configuration previous = record.configuration();
                record.attach(configuration);
                try {
                    for (; from < changes.size() && changes.get(from).record() == record; from++) {
                        Change change = changes.get(from);
                        record.set((Field<Object>) record.field(change.field()), change.value());
                    }
                } finally {
                    record.attach(previous);
                }
            }
            changes.clear();
            for (R record : plan.records) {
                record.touched(false);
            }
        }

        private void refresh(Group<R> group, List<R> rows, List<? extends Record> stored, DSLContext dsl) {
            Table<?> table = group.table();
            if (group.generatedKey()) {
                if (stored.size() != rows.size()) {
                    throw new DataAccessException("inserted " + rows.size() + " rows into " + table.getName()
                            + " but the database returned " + stored.size());
                }
                for (int i = 0; i < rows.size(); i++) {
                    collect(stored.get(i), rows.get(i));
                }
                return;
            }
            int[] key = primaryKeyIndexes(table);
            // The statement inserts in key order and PostgreSQL returns rows in that order: match by position
            // while the keys agree, by lookup for whatever is left.
            int matched = 0;
            while (matched < rows.size() && matched < stored.size()
                    && compareKeys(keyOf(rows.get(matched), key), keyOf(stored.get(matched), key)) == 0) {
                collect(stored.get(matched), rows.get(matched));
                matched++;
            }
            if (matched == rows.size()) {
                return;
            }
            // Ordered by compareKeys, like the plan: the database may hand a key back in another representation
            // (a numeric key with another scale, a binary key as a new byte array) than the record holds.
            Map<Object, R> pending = new TreeMap<>(Upserts::compareKeys);
            for (R row : rows.subList(matched, rows.size())) {
                pending.put(keyOf(row, key), row);
            }
            for (Record row : stored.subList(matched, stored.size())) {
                R target = pending.remove(keyOf(row, key));
                if (target != null) {
                    collect(row, target);
                }
            }
            if (!pending.isEmpty()) {
                List<Object> keys = new ArrayList<>(pending.keySet());
                for (Record row : plan.statements.select(dsl, table, primaryKeyFields(table), keys)) {
                    R target = pending.remove(keyOf(row, key));
                    if (target != null) {
                        collect(row, target);
                    }
                }
            }
            if (!pending.isEmpty()) {
                throw new DataAccessException("rows of " + table.getName() + " vanished while being saved: "
                        + pending.keySet().stream().map(Upserts::format).toList() + " (deleted by a concurrent transaction?)");
            }
        }

        private void collect(Record stored, Record target) {
            int size = target.size();
            for (int i = 0; i < size; i++) {
                Object value = stored.get(i);
                if (!Objects.equals(value, target.get(i))) {
                    changes.add(new Change(target, i, value));
                }
            }
        }
    }

    /** A stored value that differs from the record's value: set after the commit. */
    private record Change(Record record, int field, Object value) {}

    /**
     * A keyed record in the plan; {@code integral} is the key as a {@code long} when it is one integer column
     * (the common case), so that sorting compares numbers held in the entry instead of chasing boxed keys.
     */
    private record Entry<R>(R record, BitSet columns, Object key, int index, long integral) {
        static <R> Entry<R> of(R record, BitSet columns, Object key, int index) {
            long integral = key instanceof Long || key instanceof Integer || key instanceof Short || key instanceof Byte
                    ? ((Number) key).longValue() : 0;
            return new Entry<>(record, columns, key, index, integral);
        }
    }

    private static final Comparator<Entry<?>> BY_KEY = (a, b) -> compareKeys(a.key(), b.key());

    private static final Comparator<Entry<?>> BY_INTEGRAL_KEY = (a, b) -> Long.compare(a.integral(), b.integral());

    @SuppressWarnings("unchecked")
    private static final Comparator<Entry<?>> BY_NATURAL_KEY = (a, b) -> ((Comparable<Object>) a.key()).compareTo(b.key());

    /** {@link #compareKeys}'s order, taking a shortcut when every key has the same integral or comparable class. */
    private static Comparator<Entry<?>> comparatorFor(List<? extends Entry<?>> entries) {
        Class<?> type = entries.isEmpty() ? null : entries.getFirst().key().getClass();
        if (type == null || !Comparable.class.isAssignableFrom(type) || type == CompositeKey.class) {
            return BY_KEY;
        }
        for (Entry<?> entry : entries) {
            if (entry.key().getClass() != type) {
                return BY_KEY;
            }
        }
        boolean integral = type == Long.class || type == Integer.class || type == Short.class || type == Byte.class;
        return integral ? BY_INTEGRAL_KEY : BY_NATURAL_KEY;
    }

    /** A primary key of several columns, compared column by column. */
    record CompositeKey(Object[] values) {
        @Override
        public boolean equals(Object other) {
            return other instanceof CompositeKey that && Arrays.equals(values, that.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return Arrays.toString(values);
        }
    }

    /** The key itself for a one-column primary key, a {@link CompositeKey} otherwise. */
    static Object keyOf(Record record, int[] key) {
        return key.length == 1 ? record.get(key[0]) : new CompositeKey(keyValues(record, key));
    }

    private static Object[] keyValues(Record record, int[] key) {
        Object[] values = new Object[key.length];
        for (int i = 0; i < values.length; i++) {
            values[i] = record.get(key[i]);
        }
        return values;
    }

    /**
     * A total order on key values: natural order where there is one (so 1.0 and 1.00 are the same key, as in
     * the database), unsigned bytes for binary keys, text otherwise. It only needs to be the same in every call:
     * it fixes the order in which rows are locked.
     */
    @SuppressWarnings("unchecked")
    static int compareKeys(Object a, Object b) {
        if (a instanceof CompositeKey x && b instanceof CompositeKey y) {
            for (int i = 0; i < x.values().length; i++) {
                int c = compareKeys(x.values()[i], y.values()[i]);
                if (c != 0) {
                    return c;
                }
            }
            return 0;
        }
        if (a instanceof byte[] x && b instanceof byte[] y) {
            return Arrays.compareUnsigned(x, y);
        }
        if (a instanceof Comparable<?> && a.getClass() == b.getClass()) {
            return ((Comparable<Object>) a).compareTo(b);
        }
        return String.valueOf(a).compareTo(String.valueOf(b));
    }

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

    /** A key value for a message: binary values in PostgreSQL's hex form rather than as {@code [B@1b6d3586}. */
    private static String format(Object key) {
        return switch (key) {
            case byte[] bytes -> "\\x" + java.util.HexFormat.of().formatHex(bytes);
            case CompositeKey composite -> "(" + String.join(", ", Arrays.stream(composite.values()).map(Upserts::format).toList()) + ")";
            case null -> "null";
            default -> key.toString();
        };
    }

    private static String describe(Table<?> table, List<TableField<?, ?>> key, Object[] values) {
        StringBuilder s = new StringBuilder(table.getName()).append('(');
        for (int i = 0; i < key.size(); i++) {
            s.append(i == 0 ? "" : ", ").append(key.get(i).getName());
        }
        s.append(")=(");
        for (int i = 0; i < values.length; i++) {
            s.append(i == 0 ? "" : ", ").append(format(values[i]));
        }
        return s.append(')').toString();
    }

    private Upserts() {}
}
