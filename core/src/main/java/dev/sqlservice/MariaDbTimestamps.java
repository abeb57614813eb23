package dev.sqlservice;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.jooq.Param;
import org.jooq.VisitContext;
import org.jooq.VisitListener;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * Lets classes generated from PostgreSQL ({@code timestamptz} as {@link OffsetDateTime}) write MariaDB/MySQL
 * {@code TIMESTAMP} columns: jOOQ sends an {@code OffsetDateTime} there as text with an offset, which MariaDB
 * rejects. The value is sent instead as the same instant in UTC, and the {@link Database}'s connections use the
 * session time zone {@code +00:00}, so the server stores exactly that instant.
 */
final class MariaDbTimestamps implements VisitListener {

    @Override
    public void visitStart(VisitContext context) {
        if (context.queryPart() instanceof Param<?> param && param.getValue() instanceof OffsetDateTime value) {
            context.queryPart(DSL.val(value.withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime(), SQLDataType.LOCALDATETIME));
        }
    }
}
