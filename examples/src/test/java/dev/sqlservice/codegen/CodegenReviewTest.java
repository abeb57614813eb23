package dev.sqlservice.codegen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.ExampleDatabase;
import dev.sqlservice.testing.TestDatabase;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.codegen.GenerationTool;
import org.jooq.codegen.JavaGenerator;
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
 * REVIEW (issue 14, branch review14): tests written by an independent reviewer of the code generation change. Each
 * test states a promise of the README / Javadoc and FAILS where the promise is broken (see FINDINGS.md at the
 * worktree root). Production code is deliberately not changed on this branch.
 *
 * <p>PostgreSQL tests run on the harness's server (embedded PostgreSQL 18 or {@code SQLSERVICE_TEST_URL}); the
 * MariaDB test runs when {@code -Dsqlservice.codegen.test.mariadb=jdbc:mariadb://127.0.0.1:3306/} or a MariaDB
 * {@code SQLSERVICE_TEST_URL} names a server (user from {@code SQLSERVICE_TEST_USER}).
 */
@ExampleDatabase
@Tag("slow")
class CodegenReviewTest {

    private static final String NOWHERE = "jdbc:postgresql://127.0.0.1:1/nowhere";

    // ---------------------------------------------------------------------------------------------------------
    // Stale output: what MigrationsVersion hashes
    // ---------------------------------------------------------------------------------------------------------

    /**
     * README: "`locations` ... `classpath:`" and "a change to any migration or property ... regenerates". A
     * {@code classpath:} location is hashed by its name only, so a new migration there is never generated.
     */
    @Test
    void classpath_location__a_new_migration_regenerates(TestDatabase test, @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        String folder = "codegen-review/" + Long.toString(System.nanoTime(), 36);
        Path classes = Path.of(CodegenReviewTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path migrations = Files.createDirectories(classes.resolve(folder));
        Files.writeString(migrations.resolve("V1__one.sql"), "create table one (id integer primary key);\n");
        Path output = dir.resolve("generated");
        try {
            withServer(test.url(), () -> GenerationTool.generate(postgres(dir, "classpath:" + folder, output)));
            assertThat(generatedFiles(output)).as("first generation").contains("One.java");

            Files.writeString(migrations.resolve("V2__two.sql"), "create table two (id integer primary key);\n");
            withServer(test.url(), () -> GenerationTool.generate(postgres(dir, "classpath:" + folder, output)));
            assertThat(generatedFiles(output)).as("after a new migration in the classpath: location")
                    .contains("One.java", "Two.java");
        } finally {
            deleteTree(classes.resolve("codegen-review"));
        }
    }

    /**
     * A {@code filesystem:} location that is a symbolic link (a shared migrations folder linked into the module):
     * {@code Files.walk} does not follow it, so no migration is hashed and a change is never generated.
     */
    @Test
    void symlinked_filesystem_location__a_new_migration_regenerates(TestDatabase test, @TempDir Path dir)
            throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path shared = Files.createDirectories(dir.resolve("shared-migrations"));
        Files.createSymbolicLink(dir.resolve("migrations"), shared);
        Files.writeString(shared.resolve("V1__one.sql"), "create table one (id integer primary key);\n");
        Path output = dir.resolve("generated");

        withServer(test.url(), () -> GenerationTool.generate(postgres(dir, "filesystem:migrations", output)));
        assertThat(generatedFiles(output)).as("first generation, Flyway follows the link").contains("One.java");

        Files.writeString(shared.resolve("V2__two.sql"), "create table two (id integer primary key);\n");
        withServer(test.url(), () -> GenerationTool.generate(postgres(dir, "filesystem:migrations", output)));
        assertThat(generatedFiles(output)).as("after a new migration behind the link").contains("Two.java");
    }

    /**
     * jooq-codegen-maven runs the generator with the thread context class loader set to the project's runtime
     * class path (parent: the plugin realm). A {@code classpath:} location in a project dependency (a shared
     * migrations jar) must be found there; MigrationRun gives Flyway the plugin realm only, so nothing is migrated
     * and an empty schema is generated without an error.
     */
    @Test
    void classpath_location_on_the_projects_class_path__as_jooq_codegen_maven_sets_it__is_migrated(
            TestDatabase test, @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path jar = Files.createDirectories(dir.resolve("project-classpath/shared/migrations"));
        Files.writeString(jar.resolve("V1__shared.sql"), "create table shared_one (id integer primary key);\n");
        Path output = dir.resolve("generated");
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        try (URLClassLoader project = new URLClassLoader(new URL[] {dir.resolve("project-classpath").toUri().toURL()},
                previous)) {
            thread.setContextClassLoader(project);
            withServer(test.url(),
                    () -> GenerationTool.generate(postgres(dir, "classpath:shared/migrations", output)));
        } finally {
            thread.setContextClassLoader(previous);
        }
        assertThat(generatedFiles(output)).as("generated from the project's classpath: migrations")
                .contains("SharedOne.java");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Temporary databases left behind
    // ---------------------------------------------------------------------------------------------------------

    /** A generator that fails after the migrations ran (a naming strategy, a forced type, a full disk, ...). */
    public static class FailingAfterMigrationGenerator extends JavaGenerator {
        @Override
        public void generate(org.jooq.meta.Database db) {
            db.getTables(); // migrates the temporary database
            throw new IllegalStateException("review: the generator fails after the migration");
        }
    }

    @Test
    void generator_failing_after_the_migration__leaves_no_temporary_database(TestDatabase test, DSLContext dsl,
            @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__one.sql"), "create table one (id integer primary key);\n");
        Configuration configuration = postgres(dir, "filesystem:migrations", dir.resolve("generated"));
        configuration.getGenerator().setName(FailingAfterMigrationGenerator.class.getName());
        List<String> before = temporaryDatabases(dsl);
        try {
            assertThatThrownBy(() -> withServer(test.url(), () -> GenerationTool.generate(configuration)))
                    .hasStackTraceContaining("the generator fails after the migration");
            assertThat(temporaryDatabases(dsl)).as("temporary databases left on the server").isEqualTo(before);
        } finally {
            dropNew(dsl, before);
        }
    }

    /**
     * Ctrl-C / a CI job cancelled during a slow migration: the JVM gets SIGTERM and runs its shutdown hooks. No hook
     * drops the temporary database, so it stays on the user's server (with its data) forever.
     */
    @Test
    void build_terminated_during_the_migration__leaves_no_temporary_database(TestDatabase test, DSLContext dsl,
            @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__slow.sql"), "select pg_sleep(120);\n");
        List<String> before = temporaryDatabases(dsl);
        Process child = childGeneration(dir, test.url(), dir.resolve("child.log"));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (temporaryDatabases(dsl).equals(before) && System.nanoTime() < deadline && child.isAlive()) {
                Thread.sleep(200);
            }
            assertThat(temporaryDatabases(dsl)).as("the child created its temporary database; log:\n"
                    + Files.readString(dir.resolve("child.log"))).isNotEqualTo(before);
            child.destroy(); // SIGTERM: shutdown hooks run
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).as("child stopped").isTrue();
            Thread.sleep(2000);
            assertThat(temporaryDatabases(dsl)).as("temporary databases left after SIGTERM").isEqualTo(before);
        } finally {
            child.destroyForcibly();
            dropNew(dsl, before);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Credentials
    // ---------------------------------------------------------------------------------------------------------

    /**
     * A CI secret holding the whole URL ({@code SQLSERVICE_CODEGEN_URL=jdbc:postgresql://db/app?password=…}, pgjdbc's
     * documented form): the password must not reach the build log. The child JVM gets the URL through its
     * environment only; its whole output is searched.
     */
    @Test
    void a_password_in_the_server_url__never_reaches_the_build_log(TestDatabase test, @TempDir Path dir)
            throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__one.sql"), "create table one (id integer primary key);\n");
        Path log = dir.resolve("child.log");
        Process child = childGeneration(dir,
                test.url() + (test.url().contains("?") ? "&" : "?") + "password=Url-S3cret-42", log);
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).as("child finished").isTrue();
        String output = Files.readString(log);
        assertThat(output).as("the child generated (log below)").contains("Successfully applied 1 migration");

        // and when a migration fails (the error path's messages)
        Files.writeString(migrations.resolve("V2__broken.sql"), "create tabel broken (id integer);\n");
        Path failedLog = dir.resolve("child-failed.log");
        Process failed = childGeneration(dir,
                test.url() + (test.url().contains("?") ? "&" : "?") + "password=Url-S3cret-42", failedLog);
        assertThat(failed.waitFor(120, TimeUnit.SECONDS)).as("child finished").isTrue();
        String failure = Files.readString(failedLog);
        assertThat(failure).as("the failing child's log").contains("V2__broken.sql");
        assertThat(output + failure).as("the build log").doesNotContain("Url-S3cret-42");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Concurrency and incremental builds
    // ---------------------------------------------------------------------------------------------------------

    /** Maven -T or two executions: two generations at once in one JVM, on one server and on embedded PostgreSQL. */
    @Test
    void two_generations_at_once_in_one_jvm__each_gets_its_own_schema(TestDatabase test, DSLContext dsl,
            @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        List<String> before = temporaryDatabases(dsl);
        Path a = Files.createDirectories(dir.resolve("a/migrations"));
        Path b = Files.createDirectories(dir.resolve("b/migrations"));
        Files.writeString(a.resolve("V1__a.sql"), "create table alpha (id integer primary key);\n");
        Files.writeString(b.resolve("V1__b.sql"), "create table beta (id integer primary key);\n");
        java.util.function.Function<String, Configuration> config = name -> {
            Configuration c = postgres(dir.resolve(name), "filesystem:migrations", dir.resolve(name + "/generated"));
            if (name.equals("a")) {
                c.getGenerator().getDatabase().getProperties().add(new Property().withKey("url").withValue(test.url()));
            }
            return c;
        };
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (Configuration c : List.of(config.apply("a"), config.apply("b"), config.apply("a"), config.apply("b"))) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    GenerationTool.generate(c);
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failures).as("failures").isEmpty();
        assertThat(generatedFiles(dir.resolve("a/generated"))).contains("Alpha.java").doesNotContain("Beta.java");
        assertThat(generatedFiles(dir.resolve("b/generated"))).contains("Beta.java").doesNotContain("Alpha.java");
        assertThat(temporaryDatabases(dsl)).as("temporary databases left").isEqualTo(before);
    }

    /**
     * README (incremental): "jOOQ keeps the generated classes when nothing changed and no PostgreSQL is started".
     * Without {@code <inputSchema>} (jOOQ's default: every schema) the schemas are read from the database, so an
     * unchanged rebuild starts PostgreSQL anyway.
     */
    @Test
    void without_input_schema__an_unchanged_rebuild_connects_nowhere(TestDatabase test, @TempDir Path dir)
            throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__one.sql"), "create table one (id integer primary key);\n");
        Path output = dir.resolve("generated");
        Configuration first = postgres(dir, "filesystem:migrations", output);
        first.getGenerator().getDatabase().setInputSchema(null);
        withServer(test.url(), () -> GenerationTool.generate(first));
        assertThat(generatedFiles(output)).contains("One.java");

        Configuration again = postgres(dir, "filesystem:migrations", output);
        again.getGenerator().getDatabase().setInputSchema(null);
        withServer(NOWHERE, () -> GenerationTool.generate(again)); // nothing changed: must not connect
        assertThat(generatedFiles(output)).contains("One.java");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Hangs
    // ---------------------------------------------------------------------------------------------------------

    /**
     * A URL naming a port where something accepts the connection and never answers (a wrong port forwarded by a
     * proxy, a half-up server): the build must fail in bounded time, not hang forever.
     */
    @Test
    void a_server_that_never_answers__fails_in_bounded_time_instead_of_hanging(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("migrations"));
        List<Socket> accepted = new CopyOnWriteArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        accepted.add(silent.accept());
                    }
                } catch (IOException closed) {
                    // test over
                }
            });
            String url = "jdbc:postgresql://127.0.0.1:" + silent.getLocalPort() + "/postgres";
            try {
                assertTimeoutPreemptively(Duration.ofSeconds(60), () -> assertThatThrownBy(
                        () -> withServer(url, () -> GenerationTool.generate(
                                postgres(dir, "filesystem:migrations", dir.resolve("generated")))))
                        .hasStackTraceContaining("could not migrate"));
            } finally {
                for (Socket s : accepted) {
                    s.close();
                }
                acceptor.interrupt();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // MariaDB: the temporary database's name in the generated code
    // ---------------------------------------------------------------------------------------------------------

    /**
     * README: MariaDB "generated as the default schema (no schema name in the code, view sources included)". A
     * column defaulting to a sequence is stored by MariaDB as {@code nextval(`<database>`.`seq`)}: the generated
     * default names the temporary database, which no longer exists.
     */
    @Test
    void mariadb_sequence_default__names_no_temporary_database(@TempDir Path dir) throws Exception {
        String property = System.getProperty("sqlservice.codegen.test.mariadb");
        String testUrl = System.getenv("SQLSERVICE_TEST_URL");
        String server = property != null && !property.isBlank() ? property
                : testUrl != null && testUrl.startsWith("jdbc:mariadb:") ? testUrl : null;
        assumeTrue(server != null, "needs -Dsqlservice.codegen.test.mariadb=jdbc:mariadb://host:3306/");
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__seq.sql"), """
                create sequence review_ticket_seq;
                create table review_ticket (id bigint not null default nextval(review_ticket_seq) primary key,
                                            title text not null);
                """);
        Path output = dir.resolve("generated");
        List<Property> properties = new ArrayList<>(List.of(
                new Property().withKey("locations").withValue("filesystem:migrations"),
                new Property().withKey("url").withValue(server),
                new Property().withKey("passwordEnvironmentVariable").withValue("SQLSERVICE_TEST_PASSWORD")));
        String user = System.getenv("SQLSERVICE_TEST_USER");
        if (user != null && !user.isBlank()) {
            properties.add(new Property().withKey("user").withValue(user));
        }
        GenerationTool.generate(new Configuration()
                .withBasedir(dir.toString())
                .withGenerator(new Generator()
                        .withDatabase(new Database()
                                .withName(FlywayMariaDBDatabase.class.getName())
                                .withSchemaVersionProvider(MigrationsVersion.class.getName())
                                .withCatalogVersionProvider(MigrationsVersion.class.getName())
                                .withProperties(properties))
                        .withGenerate(new Generate().withEmptyCatalogs(true).withEmptySchemas(true))
                        .withTarget(new Target()
                                .withPackageName("dev.sqlservice.codegen.reviewmaria")
                                .withDirectory(output.toString()))));

        assertThat(generatedFiles(output)).contains("ReviewTicket.java");
        assertThat(generatedText(output)).as("the generated code").doesNotContain("sqlservice_codegen_");
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------------------

    /** The child JVM of the process tests: one generation, the server URL from its environment only. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        GenerationTool.generate(postgres(dir, "filesystem:migrations", dir.resolve("generated")));
    }

    private static Process childGeneration(Path dir, String url, Path log) throws IOException {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder builder = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath, CodegenReviewTest.class.getName(), dir.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("SQLSERVICE_CODEGEN_URL", url);
        return builder.start();
    }

    @FunctionalInterface
    interface Action {
        void run() throws Exception;
    }

    /** Runs with the server in the system property (outside jOOQ's configuration hash), as the existing tests do. */
    private static void withServer(String url, Action action) throws Exception {
        String previous = System.setProperty("sqlservice.codegen.url", url);
        try {
            action.run();
        } finally {
            if (previous == null) {
                System.clearProperty("sqlservice.codegen.url");
            } else {
                System.setProperty("sqlservice.codegen.url", previous);
            }
        }
    }

    static Configuration postgres(Path basedir, String locations, Path output) {
        List<Property> properties = new ArrayList<>(List.of(
                new Property().withKey("locations").withValue(locations),
                new Property().withKey("passwordEnvironmentVariable").withValue("SQLSERVICE_TEST_PASSWORD")));
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
                                .withPackageName("dev.sqlservice.codegen.review")
                                .withDirectory(output.toString())));
    }

    private static List<String> temporaryDatabases(DSLContext dsl) {
        return dsl.fetch("select datname from pg_database where datname like 'sqlservice_codegen_%' order by 1")
                .getValues(0, String.class);
    }

    private static void dropNew(DSLContext dsl, List<String> before) {
        for (String name : temporaryDatabases(dsl)) {
            if (!before.contains(name)) {
                dsl.execute("drop database if exists \"" + name + "\" with (force)");
            }
        }
    }

    private static List<String> generatedFiles(Path output) throws IOException {
        if (!Files.exists(output)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(output)) {
            return files.map(p -> p.getFileName().toString()).toList();
        }
    }

    private static String generatedText(Path output) throws IOException {
        try (Stream<Path> files = Files.walk(output)) {
            return files.filter(Files::isRegularFile).map(p -> {
                try {
                    return Files.readString(p);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).collect(Collectors.joining("\n"));
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (Files.exists(root)) {
            try (Stream<Path> files = Files.walk(root)) {
                for (Path p : files.sorted((a, b) -> b.compareTo(a)).toList()) {
                    Files.delete(p);
                }
            }
        }
    }
}
