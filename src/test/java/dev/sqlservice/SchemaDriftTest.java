package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.example.schema.DefaultSchema;
import dev.sqlservice.testing.SchemaDrift;
import dev.sqlservice.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import org.flywaydb.core.Flyway;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@ExampleDatabase
class SchemaDriftTest {

    @Test
    void generated_classes__match_the_migrated_live_schema(DSLContext dsl) {
        // The classes are generated from PostgreSQL: on another backend only the structure must match.
        boolean structural = dsl.dialect().family() != SQLDialect.POSTGRES;

        assertThat(SchemaDrift.between(DefaultSchema.DEFAULT_SCHEMA, dsl, structural)).isEmpty();
    }

    @Test
    void drift__is_reported_when_a_migration_disagrees_with_the_generated_classes(
            TestDatabase test, DSLContext dsl, @TempDir Path extraMigrations) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "schemas within a database: PostgreSQL only");
        Files.writeString(extraMigrations.resolve("V999__drift.sql"), """
                alter table users add column nickname text;
                alter table posts alter column body set not null;
                alter table users drop constraint users_email_key;
                """);
        String schema = "drift_probe";
        try {
            Flyway.configure()
                    .dataSource(test.url(), null, null)
                    .schemas(schema)
                    .locations("filesystem:db/migration/postgresql", "filesystem:" + extraMigrations)
                    .load()
                    .migrate();
            var live = dsl.meta().getSchemas(schema).getFirst();

            assertThat(SchemaDrift.between(DefaultSchema.DEFAULT_SCHEMA, live)).containsExactlyInAnyOrder(
                    "table users: generated columns [id, name, email, created_at], database columns [id, name, email, created_at, nickname]",
                    "column posts.body: generated nullable, database not null",
                    "table users: generated unique keys [users_email_key[email]], database unique keys []");
        } finally {
            dsl.execute("drop schema if exists " + schema + " cascade");
        }
    }
}
