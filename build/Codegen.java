import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.jooq.meta.jaxb.Jdbc;

/**
 * The build's schema pipeline (run by the exec plugin in generate-sources, as a single-file Java program):
 * Flyway migrates a real PostgreSQL, then jOOQ generates classes from the live schema.
 *
 * <p>Arguments: the codegen-config.xml, the migration folder, the output folder. System properties
 * {@code codegen.url} / {@code codegen.user} / {@code codegen.password} point it at an existing server instead
 * of an embedded PostgreSQL 18; there it works in a temporary schema that it drops afterwards.
 *
 * <p>Nothing runs when the inputs (config, migrations, this file, the jOOQ version) hash to the value recorded
 * by the last successful run and the output still exists: an unchanged schema never starts PostgreSQL again.
 */
public final class Codegen {

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            throw new IllegalArgumentException("usage: Codegen <codegen-config.xml> <migration folder> <output folder>");
        }
        Path config = Path.of(args[0]);
        Path migrations = Path.of(args[1]);
        Path output = Path.of(args[2]);
        Path stamp = output.resolveSibling(output.getFileName() + ".inputs.sha256");
        String url = System.getProperty("codegen.url", "").trim();

        String inputs = hashInputs(config, migrations, url);
        if (Files.isDirectory(output) && Files.exists(stamp) && Files.readString(stamp).equals(inputs)) {
            System.out.println("[codegen] jOOQ classes are up to date with " + migrations + "; PostgreSQL not started");
            return;
        }
        Files.deleteIfExists(stamp);
        long started = System.nanoTime();
        if (url.isEmpty()) {
            try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().start()) {
                generate(config, migrations, output, postgres.getJdbcUrl("postgres", "postgres"), "postgres", "", "public");
            }
        } else {
            String schema = "sqlservice_codegen_" + ProcessHandle.current().pid();
            String user = System.getProperty("codegen.user", "");
            String password = System.getProperty("codegen.password", "");
            try {
                generate(config, migrations, output, url, user, password, schema);
            } finally {
                try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
                    s.execute("drop schema if exists " + schema + " cascade");
                }
            }
        }
        Files.writeString(stamp, inputs);
        System.out.printf("[codegen] migrated and generated in %d ms%n", (System.nanoTime() - started) / 1_000_000);
    }

    private static void generate(Path config, Path migrations, Path output, String url, String user, String password,
            String schema) throws Exception {
        Flyway.configure()
                .dataSource(url, user, password)
                .locations("filesystem:" + migrations.toAbsolutePath())
                .schemas(schema)
                .createSchemas(true)
                .failOnMissingLocations(true)
                .load()
                .migrate();

        Configuration configuration;
        try (InputStream in = Files.newInputStream(config)) {
            configuration = GenerationTool.load(in);
        }
        configuration.withJdbc(new Jdbc().withDriver("org.postgresql.Driver").withUrl(url).withUser(user).withPassword(password));
        configuration.getGenerator().getDatabase().withInputSchema(schema);
        configuration.getGenerator().getTarget().withDirectory(output.toAbsolutePath().toString());
        GenerationTool.generate(configuration);
    }

    private static String hashInputs(Path config, Path migrations, String url) throws IOException, NoSuchAlgorithmException {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        List<Path> inputs;
        try (Stream<Path> walk = Files.walk(migrations)) {
            inputs = Stream.concat(
                    Stream.of(config, config.resolveSibling("build").resolve("Codegen.java")),
                    walk.filter(Files::isRegularFile).sorted()).toList();
        }
        for (Path file : inputs) {
            digest.update(file.toString().getBytes(StandardCharsets.UTF_8));
            digest.update(Files.readAllBytes(file));
        }
        digest.update((url + "|" + org.jooq.Constants.VERSION).getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(digest.digest());
    }

    private Codegen() {}
}
