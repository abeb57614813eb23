package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.conf.Settings;
import org.jooq.conf.StatementType;
import org.junit.jupiter.api.Test;

/**
 * saveAll's statements rendered the ways jOOQ settings can ask for: with inlined values ({@code STATIC_STATEMENT}),
 * and re-rendered inlined once they carry more binds than {@code inlineThreshold}. On MariaDB the values of a
 * statement are normally set on the JDBC statement directly, not as jOOQ parameters (issue 17): these renderings
 * must still write and refresh every row, nulls and timestamps included.
 */
@ExampleDatabase
class SaveAllRenderingTest {

    private static final OffsetDateTime CREATED = OffsetDateTime.of(2026, 3, 29, 2, 30, 0, 123_456_000, ZoneOffset.UTC);

    @Test
    void saveAll__with_inlined_values__writes_and_refreshes_every_row(TestDatabase test, DSLContext dsl) {
        saveAndCheck(test, dsl, new Settings().withStatementType(StatementType.STATIC_STATEMENT));
    }

    @Test
    void saveAll__over_the_inline_threshold__writes_and_refreshes_every_row(TestDatabase test, DSLContext dsl) {
        saveAndCheck(test, dsl, new Settings().withInlineThreshold(3));
    }

    @Test
    void saveAll__with_the_default_settings__writes_and_refreshes_every_row(TestDatabase test, DSLContext dsl) {
        saveAndCheck(test, dsl, new Settings());
    }

    private static void saveAndCheck(TestDatabase test, DSLContext dsl, Settings settings) {
        dsl.execute("insert into users (id, name, email) values (2, 'stored', 'two@example.org')");
        try (Database db = test.builder().settings(settings).build()) {
            UsersRecord fresh = user(1, "Ann", "ann@example.org", CREATED);
            UsersRecord update = user(2, "renamed", null, CREATED.plusDays(1));
            UsersRecord quote = user(3, "O'Brien \\ \"x\"", null, CREATED.withOffsetSameInstant(ZoneOffset.ofHours(5)));

            db.blockingSession().saveAll(List.of(fresh, update, quote));

            List<String> stored = dsl.selectFrom(USERS).orderBy(USERS.ID).fetch()
                    .map(u -> u.getId() + "|" + u.getName() + "|" + u.getEmail() + "|" + u.getCreatedAt().toInstant());
            assertThat(stored).containsExactly(
                    "1|Ann|ann@example.org|2026-03-29T02:30:00.123456Z",
                    "2|renamed|null|2026-03-30T02:30:00.123456Z",
                    "3|O'Brien \\ \"x\"|null|2026-03-29T02:30:00.123456Z");
            assertThat(update.getEmail()).as("the refreshed record").isNull();
            assertThat(quote.getCreatedAt().toInstant()).isEqualTo(CREATED.toInstant());
            assertThat(List.of(fresh, update, quote)).allMatch(r -> !r.changed());
        }
    }

    private static UsersRecord user(long id, String name, String email, OffsetDateTime created) {
        UsersRecord u = new UsersRecord();
        u.setId(id);
        u.setName(name);
        u.setEmail(email);
        u.setCreatedAt(created);
        return u;
    }
}
