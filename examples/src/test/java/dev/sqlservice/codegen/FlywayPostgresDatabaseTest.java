package dev.sqlservice.codegen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.ExampleDatabase;
import dev.sqlservice.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.jooq.meta.jaxb.Database;
import org.jooq.meta.jaxb.Generate;
import org.jooq.meta.jaxb.Generator;
import org.jooq.meta.jaxb.Property;
import org.jooq.meta.jaxb.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FlywayPostgresDatabase} run by jOOQ's generator, configured as README "Use it in your project" configures
 * it, against the test run's PostgreSQL server (embedded PostgreSQL 18 or {@code SQLSERVICE_TEST_URL}).
 */
@ExampleDatabase
@Tag("slow")
class FlywayPostgresDatabaseTest {

    private static final String NOWHERE = "jdbc:postgresql://127.0.0.1:1/nowhere";

    @Test
    void codegen_on_a_server__migrates_a_temporary_database_and_never_touches_the_servers_own(TestDatabase test,
            DSLContext dsl, @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        // Schema-qualified, as pg_dump writes every object; and PostgreSQL-only DDL.
        Files.writeString(migrations.resolve("V1__qualified.sql"), """
                create domain public.codegen_probe_code as text check (value ~ '^[A-Z]+$');
                create table public.codegen_probe (id integer primary key, code public.codegen_probe_code);
                """);
        Path output = dir.resolve("generated");
        List<String> before = temporaryDatabases(dsl);
        try {
            GenerationTool.generate(configuration(dir, test.url(), output));

            assertThat(dsl.fetchValue("select to_regclass('public.codegen_probe')::text"))
                    .as("a table of the migrations in the server's own database").isNull();
            assertThat(temporaryDatabases(dsl)).as("temporary databases left on the server").isEqualTo(before);
            assertThat(generatedFiles(output)).as("generated from the migrated objects")
                    .contains("CodegenProbe.java", "Domains.java")
                    .doesNotContain("FlywaySchemaHistory.java");
        } finally {
            dsl.execute("drop table if exists public.codegen_probe");
            dsl.execute("drop domain if exists public.codegen_probe_code");
        }
    }

    @Test
    void codegen__connects_nowhere_when_nothing_changed_and_regenerates_when_a_migration_did(TestDatabase test,
            @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__one.sql"), "create table one (id integer primary key);\n");
        Path output = dir.resolve("generated");
        // The server from the system property, outside the configuration (whose hash jOOQ also compares).
        String previous = System.setProperty("sqlservice.codegen.url", test.url());
        try {
            GenerationTool.generate(configuration(dir, null, output));

            // A server that does not exist: any attempt to migrate fails.
            System.setProperty("sqlservice.codegen.url", NOWHERE);
            GenerationTool.generate(configuration(dir, null, output));
            assertThat(generatedFiles(output)).as("the classes kept").contains("One.java");

            Files.writeString(migrations.resolve("V2__two.sql"), "create table two (id integer primary key);\n");
            assertThatThrownBy(() -> GenerationTool.generate(configuration(dir, null, output)))
                    .as("a changed migration regenerates, so it needs the server")
                    .hasStackTraceContaining("could not migrate a temporary PostgreSQL database");
        } finally {
            if (previous == null) {
                System.clearProperty("sqlservice.codegen.url");
            } else {
                System.setProperty("sqlservice.codegen.url", previous);
            }
        }
    }

    @Test
    void codegen__reports_the_migration_that_failed_with_the_servers_reason_and_leaves_no_temporary_database(
            TestDatabase test, DSLContext dsl, @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__fine.sql"), "create table fine (id integer primary key);\n");
        Files.writeString(migrations.resolve("V2__broken.sql"), "create tabel broken (id integer);\n");
        List<String> before = temporaryDatabases(dsl);

        assertThatThrownBy(() -> GenerationTool.generate(configuration(dir, test.url(), dir.resolve("generated"))))
                .hasStackTraceContaining("V2__broken.sql")
                .hasStackTraceContaining("syntax error at or near \"tabel\"")
                .hasStackTraceContaining("could not migrate a temporary PostgreSQL database");
        assertThat(temporaryDatabases(dsl)).as("temporary databases left on the server").isEqualTo(before);
    }

    @Test
    void codegen__refuses_a_password_property_so_that_it_never_sits_in_a_pom_or_a_log(TestDatabase test,
            @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Files.createDirectories(dir.resolve("migrations"));
        Configuration configuration = configuration(dir, test.url(), dir.resolve("generated"));
        configuration.getGenerator().getDatabase().getProperties()
                .add(new Property().withKey("password").withValue("Pom-S3cret-1"));

        assertThatThrownBy(() -> GenerationTool.generate(configuration))
                .hasStackTraceContaining("a password is never a property")
                .satisfies(e -> assertThat(stackTraceOf(e)).doesNotContain("Pom-S3cret-1"));
    }

    private static String stackTraceOf(Throwable e) {
        java.io.StringWriter text = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(text));
        return text.toString();
    }

    private static Configuration configuration(Path basedir, String url, Path output) {
        List<Property> properties = new ArrayList<>(List.of(
                new Property().withKey("locations").withValue("filesystem:migrations"),
                new Property().withKey("passwordEnvironmentVariable").withValue("SQLSERVICE_TEST_PASSWORD")));
        if (url != null) {
            properties.add(new Property().withKey("url").withValue(url));
        }
        String user = System.getenv("SQLSERVICE_TEST_USER");
        if (user != null && !user.isBlank()) {
            properties.add(new Property().withKey("user").withValue(user));
        }
        return new Configuration()
                .withBasedir(basedir.toString())
                .withGenerator(new Generator()
                        .withDatabase(new Database()
                                .withName(FlywayPostgresDatabase.class.getName())
                                .withInputSchema("public")
                                .withSchemaVersionProvider(MigrationsVersion.class.getName())
                                .withCatalogVersionProvider(MigrationsVersion.class.getName())
                                .withProperties(properties))
                        .withGenerate(new Generate().withEmptyCatalogs(true).withEmptySchemas(true))
                        .withTarget(new Target()
                                .withPackageName("dev.sqlservice.codegen.probe")
                                .withDirectory(output.toString())));
    }

    private static List<String> temporaryDatabases(DSLContext dsl) {
        return dsl.fetch("select datname from pg_database where datname like 'sqlservice_codegen_%' order by 1")
                .getValues(0, String.class);
    }

    private static List<String> generatedFiles(Path output) throws Exception {
        try (Stream<Path> files = Files.walk(output)) {
            return files.map(p -> p.getFileName().toString()).toList();
        }
    }
}
