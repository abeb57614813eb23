package dev.sqlservice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.Database;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * Each test starts from the migrated state, seed rows included, whatever the test before it wrote, from whichever
 * connection or thread. Every test first checks that state, then changes it another way, so whichever order JUnit
 * picks, each test checks what the one before it left.
 */
@SqlServiceTest(migrations = "classpath:harness-seed/{vendor}")
class SeedDataTest {

    private static final List<String> COUNTRIES = List.of("DE Germany*", "FR France*", "JP Japan*");

    private DSLContext dsl;
    private TestDatabase test;

    @BeforeEach
    void startsFromTheMigratedState(DSLContext dsl, TestDatabase test) {
        this.dsl = dsl;
        this.test = test;
        assertMigratedState();
    }

    private void assertMigratedState() {
        assertThat(dsl.fetch("select code, name from countries order by code").map(r -> r.get(0, String.class).trim()
                + " " + r.get(1, String.class))).as("seeded countries").isEqualTo(COUNTRIES);
        assertThat(dsl.fetch("select id, name, label from roles order by id").map(r -> r.get(0, Long.class) + " "
                + r.get(1, String.class) + " " + r.get(2, String.class)))
                .as("seeded roles, generated column computed").containsExactly("1 reader READER", "2 writer WRITER");
        assertThat(number("select count(*) from people")).as("people").isZero();
        assertThat(number("select count(*) from events")).as("events").isZero();
    }

    private long number(String sql) {
        return ((Number) dsl.fetchValue(sql)).longValue();
    }

    private String text(String sql) {
        return String.valueOf(dsl.fetchValue(sql));
    }

    private long insertRole(String name) {
        return dsl.insertInto(table(name("roles")), field(name("name"))).values(name)
                .returning(field(name("id"), Long.class)).fetchOne().get(0, Long.class);
    }

    @RepeatedTest(2)
    void inserts_updates_and_deletes_of_seed_rows__are_undone() {
        dsl.execute("insert into countries (code, name) values ('IT', 'Italy')");
        dsl.execute("update countries set name = 'Deutschland' where code = 'DE'");
        dsl.execute("delete from countries where code = 'JP'");
        assertThat(insertRole("admin")).as("the seed advanced the identity").isEqualTo(3);
        dsl.execute("insert into people (name, country_code, role_id) values ('Ada', 'FR', 3)");
        dsl.execute("insert into events (id, on_day) values (1, date '2026-05-01'), (2, date '2020-01-01')");

        test.reset();

        assertMigratedState();
        assertThat(insertRole("admin")).as("the identity is set back").isEqualTo(3);
    }

    @Test
    void rows_committed_by_another_connection_on_another_thread__are_undone() throws Exception {
        CompletableFuture.runAsync(() -> {
            try (Connection c = DriverManager.getConnection(test.url(), user(), password());
                    Statement s = c.createStatement()) {
                s.execute("update countries set name = 'Frankreich' where code = 'FR'");
                s.execute("insert into people (name, country_code) values ('Grace', 'DE')");
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
        }).get();
        assertThat(number("select count(*) from people")).isEqualTo(1);

        test.reset();

        assertMigratedState();
    }

    @Test
    void a_rolled_back_insert__is_undone_with_the_counter_it_advanced(Database db) {
        try {
            db.blockingSession().transaction(tx -> {
                tx.execute("insert into people (name, country_code) values ('Rolled', 'DE')");
                tx.execute("insert into roles (name) values ('rolled')");
                throw new IllegalStateException("roll back");
            });
        } catch (IllegalStateException expected) {
            // rolled back
        }

        test.reset();

        assertMigratedState();
        assertThat(insertRole("next")).as("the identity the rolled-back insert took is set back").isEqualTo(3);
        dsl.execute("insert into people (name, country_code) values ('First', 'DE')");
        assertThat(number("select id from people")).isEqualTo(1);
    }

    @Test
    void a_seed_table_emptied_by_the_test__is_refilled_without_firing_its_triggers_again() {
        dsl.execute(test.dialect().family() == SQLDialect.POSTGRES ? "truncate table countries cascade"
                : "delete from countries");

        test.reset();

        assertMigratedState();
    }

    @Test
    void sequences__are_set_back() {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "a sequence of its own: PostgreSQL");
        dsl.fetch("select nextval('tickets') from generate_series(1, 5)");

        test.reset();

        assertThat(number("select nextval('tickets')")).isEqualTo(1);
    }

    @Test
    void an_unchanged_database__is_left_untouched() {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "file nodes and row versions: PostgreSQL");
        String versions = "select (select string_agg(xmin::text, ',' order by code) from countries)"
                + " || ' ' || pg_relation_filenode('people') || ' ' || pg_relation_filenode('countries')";
        String before = text(versions);

        test.reset();
        test.reset();

        assertThat(text(versions)).as("row versions and files").isEqualTo(before);
    }

    @Test
    void only_what_changed__and_what_references_it__is_reset() {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "file nodes: PostgreSQL");
        String files = "select pg_relation_filenode('countries') || ' ' || pg_relation_filenode('roles')";
        String before = text(files);
        dsl.execute("insert into people (name, country_code) values ('Only', 'JP')");

        test.reset();

        assertThat(text(files)).as("seed tables people references, not written").isEqualTo(before);
        assertMigratedState();
    }

    static String user() {
        String user = TestServers.setting("SQLSERVICE_TEST_USER", "sqlservice.test.user");
        return user != null ? user : TestServers.setting("SQLSERVICE_TEST_URL", "sqlservice.test.url") == null
                ? "postgres" : null;
    }

    static String password() {
        return TestServers.setting("SQLSERVICE_TEST_PASSWORD", "sqlservice.test.password");
    }
}
