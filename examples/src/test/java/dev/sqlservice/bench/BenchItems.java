package dev.sqlservice.bench;

import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.util.List;
import org.jooq.Name;
import org.jooq.Schema;
import org.jooq.TableField;
import org.jooq.TableOptions;
import org.jooq.UniqueKey;
import org.jooq.impl.DSL;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;

/**
 * The benchmark table, written by hand the way jOOQ's generator writes a table class:
 *
 * <pre>
 * create table bench_items (id bigint primary key, name text not null, qty integer not null,
 *     price numeric(12,2), tags text, updated_at timestamptz not null)
 * </pre>
 */
@SuppressWarnings({"rawtypes", "unchecked", "this-escape", "serial"})
public final class BenchItems extends TableImpl<BenchItemsRecord> {

    /** The DDL the benchmarks create the table with. */
    public static final String DDL = "create table bench_items (id bigint primary key, name text not null,"
            + " qty integer not null, price numeric(12,2), tags text, updated_at timestamptz not null)";

    /** The reference instance. */
    public static final BenchItems BENCH_ITEMS = new BenchItems();

    public final TableField<BenchItemsRecord, Long> ID =
            createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
    public final TableField<BenchItemsRecord, String> NAME =
            createField(DSL.name("name"), SQLDataType.CLOB.nullable(false), this, "");
    public final TableField<BenchItemsRecord, Integer> QTY =
            createField(DSL.name("qty"), SQLDataType.INTEGER.nullable(false), this, "");
    public final TableField<BenchItemsRecord, BigDecimal> PRICE =
            createField(DSL.name("price"), SQLDataType.NUMERIC(12, 2), this, "");
    public final TableField<BenchItemsRecord, String> TAGS =
            createField(DSL.name("tags"), SQLDataType.CLOB, this, "");
    public final TableField<BenchItemsRecord, OffsetDateTime> UPDATED_AT =
            createField(DSL.name("updated_at"), SQLDataType.TIMESTAMPWITHTIMEZONE(6).nullable(false), this, "");

    private final UniqueKey<BenchItemsRecord> primaryKey =
            Internal.createUniqueKey(this, DSL.name("bench_items_pkey"), new TableField[] {ID}, true);

    private BenchItems() {
        this(DSL.name("bench_items"));
    }

    private BenchItems(Name name) {
        super(name, null, null, null, DSL.comment(""), TableOptions.table(), null);
    }

    @Override
    public Class<BenchItemsRecord> getRecordType() {
        return BenchItemsRecord.class;
    }

    @Override
    public Schema getSchema() {
        return null;
    }

    @Override
    public UniqueKey<BenchItemsRecord> getPrimaryKey() {
        return primaryKey;
    }

    @Override
    public List<UniqueKey<BenchItemsRecord>> getUniqueKeys() {
        return List.of();
    }
}
