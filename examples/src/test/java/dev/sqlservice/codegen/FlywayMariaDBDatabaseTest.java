package dev.sqlservice.codegen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.jooq.meta.jaxb.Database;
import org.jooq.meta.jaxb.Generate;
import org.jooq.meta.jaxb.Generator;
import org.jooq.meta.jaxb.Property;
import org.jooq.meta.jaxb.Target;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FlywayMariaDBDatabase} run by jOOQ's generator on a MariaDB server: the system property
 * {@code sqlservice.codegen.test.mariadb} (a {@code jdbc:mariadb://} URL), else {@code SQLSERVICE_TEST_URL} when it is
 * a MariaDB URL (CI's MariaDB run). User from {@code SQLSERVICE_TEST_USER}, password from
 * {@code SQLSERVICE_TEST_PASSWORD}. Skipped, with that reason, when neither names a MariaDB server.
 */
@Tag("slow")
class FlywayMariaDBDatabaseTest {

    private static final String NOWHERE = "jdbc:mariadb://127.0.0.1:1/";
    private static String server;

    @BeforeAll
    static void mariadbServer() {
        String property = System.getProperty("sqlservice.codegen.test.mariadb");
        String testUrl = System.getenv("SQLSERVICE_TEST_URL");
        server = property != null && !property.isBlank() ? property
                : testUrl != null && testUrl.startsWith("jdbc:mariadb:") ? testUrl : null;
        assumeTrue(server != null, "needs a MariaDB server: -Dsqlservice.codegen.test.mariadb=jdbc:mariadb://host:3306/"
                + " or SQLSERVICE_TEST_URL=jdbc:mariadb://...");
    }

    @Test
    void codegen_on_a_server__generates_from_a_temporary_database_without_its_name_and_touches_no_other(
            @TempDir Path dir) throws Exception {
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__probe.sql"), """
                create table codegen_probe (
                    id    bigint auto_increment primary key,
                    state enum('draft', 'published') not null default 'draft',
                    body  text not null check (char_length(body) > 0)
                );
                create view codegen_probe_published as select id, body from codegen_probe where state = 'published';
                """);
        // Where MariaDB stores a name qualified with its database: a sequence default (nextval(`db`.`seq`)),
        // and, whether jOOQ reads them or not, generation expressions, check clauses, routine and trigger bodies.
        Files.writeString(migrations.resolve("V2__qualified.sql"), """
                create sequence codegen_ticket_seq;
                create table codegen_ticket (
                    id     bigint not null default nextval(codegen_ticket_seq) primary key,
                    title  varchar(100) not null,
                    length integer as (char_length(title)) virtual,
                    constraint codegen_ticket_title check (title <> '')
                );
                create function codegen_next_ticket() returns bigint return nextval(codegen_ticket_seq);
                create procedure codegen_touch_ticket(in ticket bigint)
                    update codegen_ticket set title = concat(title, '') where id = ticket;
                create trigger codegen_ticket_defaulted before insert on codegen_ticket for each row
                    set new.title = coalesce(nullif(new.title, ''), concat('ticket ', nextval(codegen_ticket_seq)));
                """);
        Path output = dir.resolve("generated");
        List<String> before = schemata();

        GenerationTool.generate(configuration(dir, server, output));

        assertThat(schemata()).as("the server's databases after generation (the temporary one dropped)")
                .isEqualTo(before);
        assertThat(tablesNamed("codegen_probe")).as("a migrated table anywhere on the server").isEmpty();
        assertThat(generatedFiles(output)).as("generated from the migrated objects")
                .contains("CodegenProbe.java", "CodegenProbePublished.java", "CodegenProbeState.java",
                        "CodegenTicket.java", "Sequences.java",
                        "DefaultSchema.java")
                .doesNotContain("FlywaySchemaHistory.java");
        assertThat(generatedText(output)).as("the generated code names no schema, least of all the temporary one")
                .doesNotContain("sqlservice_codegen_")
                .contains("DefaultSchema.DEFAULT_SCHEMA")
                .as("the sequence default kept, unqualified").contains("nextval(`codegen_ticket_seq`)");
    }

    @Test
    void codegen__reports_the_migration_that_failed_with_the_servers_reason_and_drops_the_temporary_database(
            @TempDir Path dir) throws Exception {
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__fine.sql"), "create table fine (id integer primary key);\n");
        Files.writeString(migrations.resolve("V2__broken.sql"), "create tabel broken (id integer);\n");
        List<String> before = schemata();

        assertThatThrownBy(() -> GenerationTool.generate(configuration(dir, server, dir.resolve("generated"))))
                .hasStackTraceContaining("V2__broken.sql")
                .hasStackTraceContaining("You have an error in your SQL syntax")
                .hasStackTraceContaining("could not migrate a temporary MariaDB database");
        assertThat(schemata()).as("the server's databases after a failed migration").isEqualTo(before);
    }

    @Test
    void codegen__connects_nowhere_when_nothing_changed_and_regenerates_when_a_migration_did(@TempDir Path dir)
            throws Exception {
        Path migrations = Files.createDirectories(dir.resolve("migrations"));
        Files.writeString(migrations.resolve("V1__one.sql"), "create table one (id integer primary key);\n");
        Path output = dir.resolve("generated");
        // The server from the system property, outside the configuration (whose hash jOOQ also compares).
        String previous = System.setProperty("sqlservice.codegen.url", server);
        try {
            GenerationTool.generate(configuration(dir, null, output));
            assertThat(generatedFiles(output)).contains("One.java");

            // A server that does not exist: any attempt to migrate fails.
            System.setProperty("sqlservice.codegen.url", NOWHERE);
            GenerationTool.generate(configuration(dir, null, output));
            assertThat(generatedFiles(output)).as("the classes kept").contains("One.java");

            Files.writeString(migrations.resolve("V2__two.sql"), "create table two (id integer primary key);\n");
            assertThatThrownBy(() -> GenerationTool.generate(configuration(dir, null, output)))
                    .as("a changed migration regenerates, so it needs the server")
                    .hasStackTraceContaining("could not migrate a temporary MariaDB database");
        } finally {
            if (previous == null) {
                System.clearProperty("sqlservice.codegen.url");
            } else {
                System.setProperty("sqlservice.codegen.url", previous);
            }
        }
    }

    static Configuration configuration(Path basedir, String url, Path output) {
        List<Property> properties = new ArrayList<>(List.of(
                new Property().withKey("locations").withValue("filesystem:migrations"),
                new Property().withKey("passwordEnvironmentVariable").withValue("SQLSERVICE_TEST_PASSWORD")));
        if (url != null) {
            properties.add(new Property().withKey("url").withValue(url));
        }
        properties.add(new Property().withKey("user").withValue(user()));
        return new Configuration()
                .withBasedir(basedir.toString())
                .withGenerator(new Generator()
                        .withDatabase(new Database()
                                .withName(FlywayMariaDBDatabase.class.getName())
                                .withSchemaVersionProvider(MigrationsVersion.class.getName())
                                .withCatalogVersionProvider(MigrationsVersion.class.getName())
                                .withProperties(properties))
                        .withGenerate(new Generate().withEmptyCatalogs(true).withEmptySchemas(true))
                        .withTarget(new Target()
                                .withPackageName("dev.sqlservice.codegen.mariadbprobe")
                                .withDirectory(output.toString())));
    }

    private static String user() {
        String user = System.getenv("SQLSERVICE_TEST_USER");
        return user == null || user.isBlank() ? "root" : user;
    }

    private static Connection admin() throws Exception {
        Properties credentials = new Properties();
        credentials.setProperty("user", user());
        String password = System.getenv("SQLSERVICE_TEST_PASSWORD");
        if (password != null) {
            credentials.setProperty("password", password);
        }
        return DriverManager.getConnection(server, credentials);
    }

    /** The server's databases but the harness's own (other test classes may create and drop theirs meanwhile). */
    private static List<String> schemata() throws Exception {
        return strings("select schema_name from information_schema.schemata"
                + " where schema_name not like 'sqlservice\\_test\\_%' order by 1");
    }

    private static List<String> tablesNamed(String name) throws Exception {
        return strings("select concat(table_schema, '.', table_name) from information_schema.tables"
                + " where table_name = ?", name);
    }

    private static List<String> strings(String sql, String... parameters) throws Exception {
        List<String> result = new ArrayList<>();
        try (Connection c = admin(); PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                s.setString(i + 1, parameters[i]);
            }
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    result.add(rs.getString(1));
                }
            }
        }
        return result;
    }

    private static List<String> generatedFiles(Path output) throws Exception {
        try (Stream<Path> files = Files.walk(output)) {
            return files.map(p -> p.getFileName().toString()).toList();
        }
    }

    private static String generatedText(Path output) throws Exception {
        StringBuilder text = new StringBuilder();
        try (Stream<Path> files = Files.walk(output)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                text.append(Files.readString(file));
            }
        }
        return text.toString();
    }
}
