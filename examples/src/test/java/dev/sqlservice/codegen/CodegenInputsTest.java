package dev.sqlservice.codegen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.ExampleDatabase;
import dev.sqlservice.testing.TestDatabase;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.jooq.SQLDialect;
import org.jooq.codegen.GenerationTool;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link MigrationsVersion} hashes and where Flyway looks (issue 14, F1/F2 follow-ups): a migrations jar on the
 * project's class path, a moved project, a location that cannot be hashed, a location that does not exist.
 */
@ExampleDatabase
@Tag("slow")
class CodegenInputsTest {

    @Test
    void classpath_location_in_a_jar__a_changed_migration_changes_the_version(@TempDir Path dir) throws Exception {
        Path jar = dir.resolve("shared-migrations.jar");
        writeJar(jar, Map.of("shared/db/V1__one.sql", "create table one (id integer primary key);\n",
                "other/V9__elsewhere.sql", "not a migration of this location;\n"));
        String first = versionWithProjectClassPath(jar, dir, "classpath:shared/db");
        assertThat(versionWithProjectClassPath(jar, dir, "classpath:shared/db")).as("same jar, same version")
                .isEqualTo(first);

        writeJar(jar, Map.of("shared/db/V1__one.sql", "create table one (id bigint primary key);\n",
                "other/V9__elsewhere.sql", "not a migration of this location;\n"));
        assertThat(versionWithProjectClassPath(jar, dir, "classpath:shared/db")).as("a changed migration in the jar")
                .isNotEqualTo(first);

        String changed = versionWithProjectClassPath(jar, dir, "classpath:shared/db");
        writeJar(jar, Map.of("shared/db/V1__one.sql", "create table one (id bigint primary key);\n",
                "other/V9__elsewhere.sql", "changed outside the location;\n"));
        assertThat(versionWithProjectClassPath(jar, dir, "classpath:shared/db")).as("a file outside the location")
                .isEqualTo(changed);
    }

    @Test
    void filesystem_location__a_moved_project_keeps_its_version(@TempDir Path dir) throws Exception {
        for (String project : new String[] {"here", "moved/elsewhere"}) {
            Path migrations = Files.createDirectories(dir.resolve(project).resolve("db/migration"));
            Files.writeString(migrations.resolve("V1__one.sql"), "create table one (id integer primary key);\n");
        }
        assertThat(version(dir.resolve("moved/elsewhere"), "filesystem:db/migration"))
                .isEqualTo(version(dir.resolve("here"), "filesystem:db/migration"));
    }

    @Test
    void a_location_that_cannot_be_hashed__fails_naming_it(@TempDir Path dir) {
        assertThatThrownBy(() -> version(dir, "s3:bucket/migrations"))
                .hasMessageContaining("s3:bucket/migrations")
                .hasMessageContaining("cannot hash it");
        assertThatThrownBy(() -> version(dir, "classpath:"))
                .hasMessageContaining("the whole class path");
    }

    @Test
    void a_location_that_does_not_exist__fails_naming_it_instead_of_generating_an_empty_schema(TestDatabase test,
            @TempDir Path dir) throws Exception {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "code generation reads PostgreSQL");
        String previous = System.setProperty("sqlservice.codegen.url", test.url());
        try {
            assertThatThrownBy(() -> GenerationTool.generate(CodegenReviewTest.postgres(dir,
                    "classpath:no/such/migrations", dir.resolve("generated"))))
                    .hasStackTraceContaining("could not migrate")
                    .hasStackTraceContaining("no/such/migrations");
        } finally {
            if (previous == null) {
                System.clearProperty("sqlservice.codegen.url");
            } else {
                System.setProperty("sqlservice.codegen.url", previous);
            }
        }
    }

    private static String versionWithProjectClassPath(Path jar, Path basedir, String location) throws Exception {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        try (URLClassLoader project = new URLClassLoader(new URL[] {jar.toUri().toURL()}, previous)) {
            thread.setContextClassLoader(project);
            return version(basedir, location);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private static String version(Path basedir, String locations) {
        FlywayPostgresDatabase database = new FlywayPostgresDatabase();
        Properties properties = new Properties();
        properties.setProperty("locations", locations);
        database.setProperties(properties);
        database.setBasedir(basedir.toString());
        return database.migrationRun().migrationsVersion();
    }

    /** A jar as maven-jar-plugin writes it: with its directory entries (class loaders find folders by them). */
    private static void writeJar(Path jar, Map<String, String> files) throws Exception {
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream zip = new JarOutputStream(out)) {
            for (String folder : new java.util.TreeSet<>(files.keySet().stream()
                    .flatMap(name -> java.util.stream.IntStream.range(0, name.length())
                            .filter(i -> name.charAt(i) == '/').mapToObj(i -> name.substring(0, i + 1)))
                    .toList())) {
                zip.putNextEntry(new JarEntry(folder));
                zip.closeEntry();
            }
            for (Map.Entry<String, String> file : new java.util.TreeMap<>(files).entrySet()) {
                zip.putNextEntry(new JarEntry(file.getKey()));
                zip.write(file.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        }
    }
}
