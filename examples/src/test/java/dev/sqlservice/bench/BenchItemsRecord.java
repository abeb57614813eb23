package dev.sqlservice.bench;

import java.math.BigDecimal;
import java.time.OffsetDateTime;
import org.jooq.Record1;
import org.jooq.impl.UpdatableRecordImpl;

/** The record of {@link BenchItems}, written by hand the way jOOQ's generator writes one. */
@SuppressWarnings({"rawtypes", "unchecked", "serial"})
public final class BenchItemsRecord extends UpdatableRecordImpl<BenchItemsRecord> {

    public BenchItemsRecord() {
        super(BenchItems.BENCH_ITEMS);
    }

    /** A detached record with every field set (and so every field changed). */
    public BenchItemsRecord(Long id, String name, Integer qty, BigDecimal price, String tags, OffsetDateTime updatedAt) {
        this();
        setId(id);
        setName(name);
        setQty(qty);
        setPrice(price);
        setTags(tags);
        setUpdatedAt(updatedAt);
    }

    public void setId(Long value) { set(0, value); }
    public Long getId() { return (Long) get(0); }
    public void setName(String value) { set(1, value); }
    public String getName() { return (String) get(1); }
    public void setQty(Integer value) { set(2, value); }
    public Integer getQty() { return (Integer) get(2); }
    public void setPrice(BigDecimal value) { set(3, value); }
    public BigDecimal getPrice() { return (BigDecimal) get(3); }
    public void setTags(String value) { set(4, value); }
    public String getTags() { return (String) get(4); }
    public void setUpdatedAt(OffsetDateTime value) { set(5, value); }
    public OffsetDateTime getUpdatedAt() { return (OffsetDateTime) get(5); }

    @Override
    public Record1<Long> key() {
        return (Record1) super.key();
    }
}
