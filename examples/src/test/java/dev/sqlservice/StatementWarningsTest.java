package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.jooq.Param;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The statements the library wraps on MariaDB ({@code SET STATEMENT … FOR}) leave no warning behind. A warning
 * costs a round trip per statement: jOOQ reads the warnings of every statement ({@code fetchWarnings}), and
 * Connector/J then sends {@code SHOW WARNINGS}. Found by profiling point queries (issue 17): every query carried
 * {@code group_concat_max_len = 4294967295}, above MariaDB's maximum (1 GiB), which the server truncated with
 * warning 1292, and a quarter of a point query's client CPU went to reading that warning.
 */
@ExampleDatabase
class StatementWarningsTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 3, 1, 12, 30, 15, 123_456_000, ZoneOffset.UTC);

    @BeforeEach
    void rows(Database db) {
        db.dsl().insertInto(USERS, USERS.ID, USERS.NAME, USERS.EMAIL, USERS.CREATED_AT)
                .values(1L, "Ann", "ann@example.com", T0)
                .values(2L, "Bob", null, T0.plusHours(1)).execute();
    }

    @Test
    void queries_and_writes_leave_no_warning(Database db) {
        org.junit.jupiter.api.Assumptions.assumeTrue(db.dialect().family() == SQLDialect.MARIADB,
                "the SET STATEMENT wrapping is MariaDB's");
        Param<Long> id = param("id", Long.class);
        PreparedQuery<UsersRecord> byId = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
        db.blockingSession().transaction(tx -> {
            assertThat(tx.first(byId.bind(id, 1L))).isPresent();
            assertThat(warnings(tx)).as("prepared first()").isEmpty();
            assertThat(tx.first(selectFrom(USERS).where(USERS.ID.eq(2L)))).isPresent();
            assertThat(warnings(tx)).as("first()").isEmpty();
            assertThat(tx.all(selectFrom(USERS).orderBy(USERS.ID))).hasSize(2);
            assertThat(warnings(tx)).as("all()").isEmpty();
            assertThat(tx.all(DSL.select(DSL.groupConcat(USERS.NAME).orderBy(USERS.ID)).from(USERS)).getFirst().value1())
                    .isEqualTo("Ann,Bob");
            assertThat(warnings(tx)).as("group_concat").isEmpty();
            tx.execute(DSL.update(USERS).set(USERS.NAME, "Bea").where(USERS.ID.eq(2L)));
            assertThat(warnings(tx)).as("update").isEmpty();
            UsersRecord ann = tx.first(selectFrom(USERS).where(USERS.ID.eq(1L))).orElseThrow();
            ann.setName("Anne");
            tx.saveAll(List.of(ann));
            assertThat(warnings(tx)).as("saveAll").isEmpty();
            return null;
        });
    }

    /** The warnings of the session's last statement (SHOW WARNINGS does not clear them, nor is it wrapped). */
    private static List<String> warnings(Session tx) {
        return tx.dsl().fetch("show warnings").map(r -> r.get(1) + " " + r.get(2));
    }
}
