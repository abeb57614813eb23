package dev.sqlservice;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
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
import java.util.UUID;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.ForeignKey;
import org.jooq.Record;
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
 *
 * <p><b>Keys as the database compares them.</b> Primary keys are compared through a {@link KeyColumn canonical
 * form} per column that is equal exactly when the database finds the keys equal, and ordered the same way in
 * every call: {@code timestamptz} by instant (at the column's stored precision: PostgreSQL rounds to
 * microseconds, MariaDB truncates), {@code numeric(p, s)} by value at the column's scale, {@code char(n)} without
 * trailing spaces, {@code uuid} and binary keys as unsigned bytes, text as Java strings (PostgreSQL's
 * deterministic collations compare text by its bytes). Two records with equal keys are rejected before any SQL.
 * Where the database's equality is coarser than that form (a case- or accent-insensitive collation, MariaDB's
 * defaults among them; PostgreSQL's nondeterministic collations; {@code citext}), the database decides: each
 * record is matched to its stored row by the database's own comparison, a record whose key the database finds
 * equal to a stored row's updates that row and takes its key as stored, and two records of one call that reach
 * the same row fail the call (SQLState 21000, nothing written). Overlapping calls cannot deadlock as long as
 * they spell such keys the same way.
 *
 * <p><b>Parents first</b> follows the foreign keys jOOQ knows ({@link Table#getReferences()} of the generated
 * tables). Foreign keys it does not see are not ordered: on PostgreSQL, those declared only on the partitions of
 * a partitioned table (jOOQ's metadata reads the partitioned table's own constraints). Save such parents and
 * children in separate calls (parents first), or declare the foreign key on the partitioned table itself.
 */
final class Upserts {

    /**
     * Records with the same table and the same columns to write: one statement per chunk of them, in key order.
     * {@code keyed} is every record of the table with a key, in key order ({@code records} is a part of it).
     */
    record Group<R extends UpdatableRecord<?>>(Table<?> table, KeyShape keys, BitSet columns, boolean generatedKey,
            List<R> records, List<R> keyed) {}

    static <R extends UpdatableRecord<?>> Plan<R> plan(Collection<? extends R> records, Backend backend) {
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
                shape = KeyShape.of(table, backend);
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
                keyed.add(Entry.of(record, columns, shape.keyOf(record), index));
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
            // columns; statements take their rows in that order too. Every saveAll then locks keys in the same
            // global order, so overlapping calls cannot deadlock.
            List<Entry<R>> entries = keyedByTable.get(table);
            List<R> keyed = new ArrayList<>(entries.size());
            for (Entry<R> entry : entries) {
                keyed.add(entry.record());
            }
            KeyShape shape = shapes.get(table);
            for (int from = 0; from < entries.size(); ) {
                BitSet columns = entries.get(from).columns();
                int to = from;
                while (to < entries.size() && entries.get(to).columns() == columns) {
                    to++;
                }
                groups.add(new Group<>(table, shape, columns, false, keyed.subList(from, to), keyed));
                from = to;
            }
            generatedByTable.getOrDefault(table, Map.of())
                    .forEach((columns, members) -> groups.add(new Group<>(table, shape, columns, true, members, List.of())));
        }
        return new Plan<>(Collections.unmodifiableList(inputs), groups, backend.upserts());
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

        /** The groups in the order they run (for tests). */
        List<Group<R>> groups() {
            return groups;
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
        /** Per table, stored keys the database matched to a record whose key Java tells apart from them. */
        private Map<Table<?>, Map<Object, R>> reachedByKey;

        private Attempt(Plan<R> plan) {
            this.plan = plan;
        }

        /** Whether the call runs nested in a caller's transaction ({@link UpsertStatements.Run#nested}). */
        private boolean nested;

        Attempt<R> nested(boolean nested) {
            this.nested = nested;
            return this;
        }

        List<R> execute(DSLContext dsl) {
            UpsertStatements.Run run = new UpsertStatements.Run(nested);
            try {
                for (Group<R> group : plan.groups) {
                    List<R> records = group.records();
                    // Statements bounded by rows and bytes, each taking the next rows in key order.
                    for (int from = 0; from < records.size(); ) {
                        List<R> rest = records.subList(from, records.size());
                        UpsertStatements.Written written = plan.statements.upsert(dsl, group, rest, run);
                        refresh(group, rest.subList(0, written.rows()), written.stored(), dsl);
                        from += written.rows();
                    }
                }
            } finally {
                run.awaitAhead();
            }
            return plan.records;
        }

        /**
         * Makes every record hold its row as stored, with no field marked changed and jOOQ's "fetched" mark set (so
         * that {@code store()} updates it, as after jOOQ's own insert). Runs on the caller's thread
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
                // as after jOOQ's own store(): the record holds a stored row, and its next store() updates it
                DirectRows.setFetched(record, true);
            }
        }

        /**
         * What {@link #apply} is about to change in each record (its changed flags, original values and jOOQ's
         * "fetched" mark), as an action that puts it back: run when the transaction this call is nested in rolls
         * back (its rows are gone), so that saving the records again, as a retried transaction does, writes what
         * this call wrote. The records' values stay as they are then (the refreshed ones, and what the application
         * set since): the changed flags they had before this call are set again, on top of any set since. Runs on
         * the caller's thread; a record whose originals jOOQ does not expose keeps its current originals. Holds the
         * records weakly (a record no longer reachable is skipped), so the transaction keeps about a reference and
         * a flag per record saved, not the records.
         */
        Runnable undoOnRollback() {
            List<R> records = plan.records;
            int n = records.size();
            // Weakly: a record the application no longer reaches is never saved again and needs no restore, and a
            // transaction that saves and drops chunk after chunk must not keep them all. Equal flag sets are shared
            // and all-null originals (a new record's) are not copied, so what stays per record is small.
            @SuppressWarnings("unchecked")
            java.lang.ref.WeakReference<R>[] refs = new java.lang.ref.WeakReference[n];
            BitSet[] touched = new BitSet[n];
            Object[][] originals = new Object[n][];
            boolean[] fetched = new boolean[n];
            Map<BitSet, BitSet> shared = new HashMap<>();
            for (int r = 0; r < n; r++) {
                R record = records.get(r);
                refs[r] = new java.lang.ref.WeakReference<>(record);
                BitSet set = new BitSet(record.size());
                for (int i = 0; i < record.size(); i++) {
                    if (record.touched(i)) {
                        set.set(i);
                    }
                }
                touched[r] = shared.computeIfAbsent(set, k -> k);
                Object[] before = DirectRows.originalsOf(record);
                originals[r] = Arrays.stream(before).allMatch(Objects::isNull) ? null : before;
                fetched[r] = DirectRows.isFetched(record);
            }
            return () -> {
                for (int r = 0; r < n; r++) {
                    R record = refs[r].get();
                    if (record == null) {
                        continue;
                    }
                    DirectRows.restoreOriginals(record, originals[r]);
                    for (int i = touched[r].nextSetBit(0); i >= 0; i = touched[r].nextSetBit(i + 1)) {
                        record.touched(i, true);
                    }
                    DirectRows.setFetched(record, fetched[r]);
                }
            };
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
            KeyShape keys = group.keys();
            // The statement takes its rows in key order and PostgreSQL returns them in that order: match by
            // position while the keys agree, by lookup for whatever is left.
            int matched = 0;
            while (matched < rows.size() && matched < stored.size()
                    && compareKeys(keys.keyOf(rows.get(matched)), keys.keyOf(stored.get(matched))) == 0) {
                collect(stored.get(matched), rows.get(matched));
                matched++;
            }
            if (matched == rows.size()) {
                return;
            }
            List<R> pending = rows.subList(matched, rows.size());
            if (matched < stored.size()) {
                Map<Object, R> byKey = new TreeMap<>(Upserts::compareKeys);
                for (R row : pending) {
                    byKey.put(keys.keyOf(row), row);
                }
                for (Record row : stored.subList(matched, stored.size())) {
                    R target = byKey.remove(keys.keyOf(row));
                    if (target != null) {
                        collect(row, target);
                    }
                }
                pending = new ArrayList<>(byKey.values());
            }
            if (!pending.isEmpty()) {
                matchInDatabase(group, pending, dsl);
            }
        }

        /**
         * Reads the rows of records the statement did not report back (no change to make, or a key the database
         * compares differently from their canonical form: a collation, a type unknown here), matched by the
         * database itself. A record whose key the database finds equal to another record's of the call fails it.
         */
        private void matchInDatabase(Group<R> group, List<R> pending, DSLContext dsl) {
            KeyShape keys = group.keys();
            BitSet found = new BitSet(pending.size());
            int position = group.table().fields().length;
            for (Record row : plan.statements.match(dsl, group, pending)) {
                int index = ((Number) row.get(position)).intValue() - 1;
                R target = pending.get(index);
                Object storedKey = keys.keyOf(row);
                if (compareKeys(storedKey, keys.keyOf(target)) != 0) {
                    // The database found equal what Java tells apart: no other record of the call may reach that row.
                    R other = recordWithKey(group.keyed(), keys, storedKey);
                    if (other == null) {
                        if (reachedByKey == null) {
                            reachedByKey = new HashMap<>();
                        }
                        other = reachedByKey.computeIfAbsent(group.table(), t -> new TreeMap<>(Upserts::compareKeys))
                                .putIfAbsent(storedKey, target);
                    }
                    if (other != null && other != target) {
                        throw sameRowTwice(group.table(), keys, other, target);
                    }
                }
                found.set(index);
                collect(row, target);
            }
            if (found.cardinality() < pending.size()) {
                List<String> vanished = new ArrayList<>();
                for (int i = found.nextClearBit(0); i < pending.size(); i = found.nextClearBit(i + 1)) {
                    vanished.add(format(keys.keyOf(pending.get(i))));
                }
                throw new DataAccessException("rows of " + group.table().getName() + " vanished while being saved: "
                        + vanished + " (deleted by a concurrent transaction?)");
            }
        }

        /** Two records of the call that the database saved into one row: the call fails, nothing is written. */
        private DataAccessException sameRowTwice(Table<?> table, KeyShape keys, R a, R b) {
            int i = indexOf(a);
            int j = indexOf(b);
            String message = "records[" + Math.min(i, j) + "] and records[" + Math.max(i, j) + "] have primary keys "
                    + describe(table, keys.fields(), keyValues(i < j ? a : b, keys.indexes())) + " and "
                    + describe(table, keys.fields(), keyValues(i < j ? b : a, keys.indexes()))
                    + " that the database finds equal (a collation that ignores case, accents or trailing spaces?)"
                    + "; save each row once";
            return new DataAccessException(message, new java.sql.SQLException(message, "21000"));
        }

        private int indexOf(R record) {
            for (int i = 0; i < plan.records.size(); i++) {
                if (plan.records.get(i) == record) {
                    return i;
                }
            }
            return -1;
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
        if (type == null || !Comparable.class.isAssignableFrom(type) || type == CompositeKey.class || type == UUID.class) {
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

    private static Object[] keyValues(Record record, int[] key) {
        Object[] values = new Object[key.length];
        for (int i = 0; i < values.length; i++) {
            values[i] = record.get(key[i]);
        }
        return values;
    }

    /**
     * A total order on canonical key values ({@link KeyColumn}): natural order where there is one, unsigned bytes
     * for binary keys and UUIDs (as the database orders them), text otherwise. It must be the same in every call:
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
        if (a instanceof UUID x && b instanceof UUID y) {
            int c = Long.compareUnsigned(x.getMostSignificantBits(), y.getMostSignificantBits());
            return c != 0 ? c : Long.compareUnsigned(x.getLeastSignificantBits(), y.getLeastSignificantBits());
        }
        if (a instanceof Comparable<?> && a.getClass() == b.getClass()) {
            return ((Comparable<Object>) a).compareTo(b);
        }
        return String.valueOf(a).compareTo(String.valueOf(b));
    }

    /** The record of {@code keyed} (in key order) whose canonical key is {@code key}, or null. */
    private static <R extends Record> R recordWithKey(List<R> keyed, KeyShape keys, Object key) {
        int low = 0;
        int high = keyed.size() - 1;
        while (low <= high) {
            int middle = (low + high) >>> 1;
            int c = compareKeys(keys.keyOf(keyed.get(middle)), key);
            if (c == 0) {
                return keyed.get(middle);
            }
            if (c < 0) {
                low = middle + 1;
            } else {
                high = middle - 1;
            }
        }
        return null;
    }

    /** A table's primary key, computed once per table and call rather than once per record. */
    record KeyShape(List<TableField<?, ?>> fields, int[] indexes, boolean[] isKey, KeyColumn[] columns) {
        static KeyShape of(Table<?> table, Backend backend) {
            List<TableField<?, ?>> fields = primaryKeyFields(table);
            int[] indexes = primaryKeyIndexes(table);
            boolean[] isKey = new boolean[table.fields().length];
            KeyColumn[] columns = new KeyColumn[indexes.length];
            for (int k = 0; k < indexes.length; k++) {
                isKey[indexes[k]] = true;
                columns[k] = KeyColumn.of(fields.get(k).getDataType(), backend);
            }
            return new KeyShape(fields, indexes, isKey, columns);
        }

        /**
         * The canonical key of a record or of a stored row: the value itself for a one-column key, a
         * {@link CompositeKey} otherwise.
         */
        Object keyOf(Record record) {
            if (indexes.length == 1) {
                return columns[0].canonical(record.get(indexes[0]));
            }
            Object[] values = new Object[indexes.length];
            for (int i = 0; i < values.length; i++) {
                values[i] = columns[i].canonical(record.get(indexes[i]));
            }
            return new CompositeKey(values);
        }
    }

    /**
     * How the database compares the values of one primary-key column: {@link #canonical} maps a value to the value
     * the column stores for it, of the same Java type, which equals another exactly when the database finds the
     * two equal (for the kinds below; values of other types are taken as they are) and orders the same way in
     * every call.
     */
    record KeyColumn(Kind kind, int digits, Backend backend) {
        enum Kind {
            /** Compared as the Java value is. */
            AS_IS,
            /** {@code numeric(p, s)}: the value rounded to the column's scale, half away from zero. */
            DECIMAL,
            /** {@code char(n)}: padded with spaces, which comparisons ignore. */
            PADDED,
            /** {@code real}, {@code double precision}: -0.0 equals 0.0. */
            FLOATING,
            /**
             * Timestamps: the instant the column stores at its precision ({@code digits}), in UTC, by the backend's
             * rules ({@link Backend#storedTimestamp}).
             */
            TIMESTAMP
        }

        private static final KeyColumn AS_IS = new KeyColumn(Kind.AS_IS, 0, null);

        static KeyColumn of(DataType<?> type, Backend backend) {
            Class<?> javaType = type.getType();
            if (javaType == BigDecimal.class && type.scaleDefined()) {
                return new KeyColumn(Kind.DECIMAL, type.scale(), backend);
            }
            if (javaType == String.class && type.getSQLDataType() != null
                    && Set.of("char", "nchar").contains(type.getSQLDataType().getTypeName())) {
                return new KeyColumn(Kind.PADDED, 0, backend);
            }
            if (javaType == Double.class || javaType == Float.class) {
                return new KeyColumn(Kind.FLOATING, 0, backend);
            }
            if (javaType == OffsetDateTime.class || javaType == LocalDateTime.class) {
                int digits = type.precisionDefined() ? Math.min(6, Math.max(0, type.precision())) : 6;
                return new KeyColumn(Kind.TIMESTAMP, digits, backend);
            }
            return AS_IS;
        }

        Object canonical(Object value) {
            if (kind == Kind.AS_IS || value == null) {
                return value;
            }
            return switch (kind) {
                case DECIMAL -> value instanceof BigDecimal d ? d.setScale(digits, RoundingMode.HALF_UP) : value;
                case PADDED -> value instanceof String text ? withoutTrailingSpaces(text) : value;
                case FLOATING -> value instanceof Double d && d == 0 ? (Object) 0.0d
                        : value instanceof Float f && f == 0 ? (Object) 0.0f : value;
                case TIMESTAMP -> switch (value) {
                    case OffsetDateTime t -> OffsetDateTime.ofInstant(
                            backend.storedTimestamp(backend.sentTimestamp(t).toInstant(), digits), ZoneOffset.UTC);
                    case LocalDateTime t -> {
                        Instant stored = backend.storedTimestamp(backend.sentTimestamp(t).toInstant(ZoneOffset.UTC), digits);
                        yield LocalDateTime.ofEpochSecond(stored.getEpochSecond(), stored.getNano(), ZoneOffset.UTC);
                    }
                    default -> value;
                };
                case AS_IS -> value;
            };
        }

        private static String withoutTrailingSpaces(String text) {
            int end = text.length();
            while (end > 0 && text.charAt(end - 1) == ' ') {
                end--;
            }
            return end == text.length() ? text : text.substring(0, end);
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
