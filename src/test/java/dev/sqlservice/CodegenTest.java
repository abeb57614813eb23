package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.tools.ToolProvider;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build's schema pipeline, build/Codegen.java, compiled from the very file the build runs and run in this JVM
 * against the test run's PostgreSQL server, as {@code -Dcodegen.url} runs it against yours.
 */
@ExampleDatabase
@Tag("slow")
class CodegenTest {

    private static final Path CONFIG = Path.of("codegen-config.xml");
    private static final String PID = Long.toString(ProcessHandle.current().pid());

    @Test
    void codegen_on_a_server__never_touches_the_servers_own_schemas(TestDatabase test, DSLContext dsl, @TempDir Path dir)
            throws Throwable {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        // Schema-qualified, as pg_dump writes every object.
        Files.writeString(migrations.resolve("V1__qualified.sql"), "create table public.codegen_probe (id integer primary key);\n");
        Path output = dir.resolve("generated");
        try {
            Outcome outcome = codegen(server(test), migrations, output);

            assertThat(outcome.failure()).as("codegen failed:%n%s", outcome.output()).isNull();
            assertThat(dsl.fetchValue("select to_regclass('public.codegen_probe')::text"))
                    .as("a table of the migrations in the server's own database").isNull();
            assertThat(leftovers(dsl)).as("temporary databases and schemas left on the server").isEmpty();
            try (var files = Files.walk(output)) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .as("generated from the migrated objects").contains("CodegenProbe.java");
            }
        } finally {
            dsl.execute("drop table if exists public.codegen_probe");
        }
    }

    @Test
    void codegen__reports_the_migration_that_failed_even_when_its_cleanup_fails_too(TestDatabase test, DSLContext dsl,
            @TempDir Path dir) throws Throwable {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        // Codegen runs as a role of its own, which its first migration forbids to log in: every connection codegen
        // opens after it fails, its cleanup's too. The second migration is the failure to report.
        String role = "codegen_locked_out_" + PID;
        dsl.execute("create role " + role + " login superuser");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__lock_out.sql"), "alter role current_user nologin;\n");
        Files.writeString(migrations.resolve("V2__broken.sql"), "create tabel broken (id integer);\n");
        Map<String, String> server = server(test);
        server.put("url", test.url().replaceFirst("[?&]user=[^&]*", ""));
        server.put("user", role);
        server.put("password", "");
        try {
            Outcome outcome = codegen(server, migrations, dir.resolve("generated"));

            assertThat(outcome.failure()).as("codegen's failure").isNotNull();
            assertThat(outcome.failure().getMessage()).as("what codegen reports")
                    .contains("V2__broken.sql")
                    .contains("syntax error at or near \"tabel\"");
            assertThat(List.of(outcome.failure().getSuppressed())).as("the cleanup's failure, kept as suppressed")
                    .anySatisfy(s -> assertThat(s).hasMessageContaining("sqlservice_codegen_"));
        } finally {
            for (String leftover : leftovers(dsl)) {
                dsl.execute(leftover.startsWith("schema ") ? "drop " + leftover + " cascade"
                        : "drop database if exists " + leftover + " with (force)");
            }
            dsl.execute("drop owned by " + role);
            dsl.execute("drop role " + role);
        }
    }

    @Test
    void codegen__records_its_inputs_even_when_the_migrations_generate_nothing(TestDatabase test, @TempDir Path dir)
            throws Throwable {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__nothing_yet.sql"), "select 1;\n");
        Path output = dir.resolve("target").resolve("generated-sources").resolve("jooq");

        Outcome first = codegen(server(test), migrations, output);
        Outcome second = codegen(server(test), migrations, output);

        assertThat(first.failure()).as("the first run failed:%n%s", first.output()).isNull();
        assertThat(second.output()).as("the second run, on unchanged inputs").contains("up to date");
    }

    // ---- running build/Codegen.java ------------------------------------------------------------------------

    private record Outcome(Throwable failure, String output) {}

    /** The connection settings of the test run's server, as -Dcodegen.url, .user and .password give them. */
    private static Map<String, String> server(TestDatabase test) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("url", test.url());
        settings.put("user", System.getenv().getOrDefault("SQLSERVICE_TEST_USER", ""));
        settings.put("password", System.getenv().getOrDefault("SQLSERVICE_TEST_PASSWORD", ""));
        return settings;
    }

    /**
     * Runs Codegen in this JVM, as the build's fork runs its main: the settings in its environment (CODEGEN_URL,
     * CODEGEN_USER, CODEGEN_PASSWORD), the arguments the example schema's generation gets; captures what it prints.
     */
    private static Outcome codegen(Map<String, String> server, Path migrations, Path output) throws Exception {
        Method run = compiledCodegen().getDeclaredMethod("run", String[].class, Map.class);
        run.setAccessible(true);
        Map<String, String> environment = new LinkedHashMap<>();
        server.forEach((key, value) -> environment.put("CODEGEN_" + key.toUpperCase(java.util.Locale.ROOT), value));
        String[] args = {CONFIG.toString(), migrations.toString(), output.toString(), "dev.sqlservice.codegen.probe"};
        PrintStream out = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Throwable failure = null;
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            run.invoke(null, args, environment);
        } catch (InvocationTargetException e) {
            failure = e.getCause();
        } finally {
            System.setOut(out);
        }
        String shown = printed.toString(StandardCharsets.UTF_8);
        if (failure != null) {
            StringWriter trace = new StringWriter();
            failure.printStackTrace(new PrintWriter(trace));
            shown += trace;
        }
        out.print(shown);
        return new Outcome(failure, shown);
    }

    private static Class<?> compiled;

    /** build/Codegen.java compiled once per JVM, against the test class path (which has everything it imports). */
    private static synchronized Class<?> compiledCodegen() throws Exception {
        if (compiled == null) {
            Path classes = Files.createTempDirectory("codegen-classes");
            String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            int status = ToolProvider.getSystemJavaCompiler().run(null, null, null,
                    "-proc:none", "-d", classes.toString(), "-classpath", classPath, "build/Codegen.java");
            assertThat(status).as("javac build/Codegen.java").isZero();
            compiled = new URLClassLoader(new URL[] {classes.toUri().toURL()}, CodegenTest.class.getClassLoader())
                    .loadClass("Codegen");
        }
        return compiled;
    }

    /** Databases and schemas this JVM's code generation left on the server. */
    private static List<String> leftovers(DSLContext dsl) {
        return dsl.fetch("""
                select datname from pg_database where datname like 'sqlservice\\_codegen\\_%' and datname like '%\\_' || ? || '%'
                union all
                select 'schema ' || nspname from pg_namespace where nspname like 'sqlservice\\_codegen\\_%'
                """, PID).getValues(0, String.class);
    }
}
