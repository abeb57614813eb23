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
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The build's schema pipeline (run by the exec plugin in generate-sources, as a single-file Java program):
 * Flyway migrates a fresh PostgreSQL database, then jOOQ generates classes from the live schema.
 *
 * <p>Arguments: the codegen-config.xml, then, for each schema to generate, its migration folder, output folder
 * and Java package. Each generation migrates a temporary database of its own,
 * {@code sqlservice_codegen_<time>_<pid>_<n>}, created for it and dropped afterwards, on an embedded PostgreSQL
 * 18 or, when the environment variable {@code CODEGEN_URL} names a database there, on that server (as
 * {@code CODEGEN_USER} with {@code CODEGEN_PASSWORD}; the user needs the right to create databases). The
 * server's own databases and schemas are never touched, whatever the migrations qualify ({@code public.x}).
 * The connection settings come from the environment, never from the command line, which {@code ps} shows to
 * every user of the machine.
 *
 * <p>A generation is skipped when its inputs (the config, its migrations, this file, its package, the server URL,
 * the jOOQ version) hash to the value its last successful run recorded beside its output: an unchanged schema
 * never starts PostgreSQL again.
 */
public final class Codegen {

    private static final Pattern DATABASE_IN_URL = Pattern.compile("^(jdbc:postgresql://[^/?]*/)([^?]*)(.*)$");
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    /** One schema to generate: its migrations, where its classes go, their package, and what they derive from. */
    private record Generation(Path migrations, Path output, String packageName, String inputs) {

        Path stamp() {
            return output.resolveSibling(output.getFileName() + ".inputs.sha256");
        }

        boolean upToDate() throws IOException {
            return Files.isDirectory(output) && Files.exists(stamp()) && Files.readString(stamp()).equals(inputs);
        }

        /** Recorded once the classes are generated and the temporary database is gone; never for a failed run. */
        void recordInputs() throws IOException {
            Files.createDirectories(output);
            Files.writeString(stamp(), inputs);
        }
    }

    public static void main(String[] args) throws Exception {
        run(args, System.getenv());
    }

    static void run(String[] args, Map<String, String> environment) throws Exception {
        if (args.length < 4 || (args.length - 1) % 3 != 0) {
            throw new IllegalArgumentException(
                    "usage: Codegen <codegen-config.xml> (<migration folder> <output folder> <package>)...");
        }
        Path config = Path.of(args[0]);
        String url = setting(environment, "CODEGEN_URL");
        String user = setting(environment, "CODEGEN_USER");
        String password = setting(environment, "CODEGEN_PASSWORD");
        if (url != null && !DATABASE_IN_URL.matcher(url).matches()) {
            throw new IllegalArgumentException("codegen.url (CODEGEN_URL) must look like"
                    + " jdbc:postgresql://host[:port]/database[?...]: code generation creates its temporary database"
                    + " on that server");
        }
        List<Generation> stale = new ArrayList<>();
        for (int i = 1; i < args.length; i += 3) {
            Path migrations = Path.of(args[i]);
            String packageName = args[i + 2];
            Generation generation = new Generation(migrations, Path.of(args[i + 1]), packageName,
                    hashInputs(config, migrations, packageName, url));
            if (generation.upToDate()) {
                System.out.println("[codegen] jOOQ classes are up to date with " + migrations);
            } else {
                stale.add(generation);
            }
        }
        if (stale.isEmpty()) {
            System.out.println("[codegen] PostgreSQL not started");
            return;
        }
        long started = System.nanoTime();
        if (url == null) {
            try (EmbeddedPostgres postgres = startEmbedded()) {
                generate(config, stale, postgres.getJdbcUrl("postgres", "postgres"), "postgres", null);
            }
        } else {
            generate(config, stale, url, user, password);
        }
        System.out.printf("[codegen] migrated and generated %d schema(s) in %d ms%n", stale.size(),
                (System.nanoTime() - started) / 1_000_000);
    }

    /**
     * Each generation in a temporary database of its own on the server. Dropping it never hides the failure of
     * the generation: a cleanup failure is added to that one as suppressed.
     */
    private static void generate(Path config, List<Generation> generations, String serverUrl, String user,
            String password) throws Exception {
        for (Generation generation : generations) {
            String database = "sqlservice_codegen_" + Long.toString(System.currentTimeMillis(), 36) + "_"
                    + ProcessHandle.current().pid() + "_" + SEQUENCE.incrementAndGet();
            Matcher m = DATABASE_IN_URL.matcher(serverUrl);
            if (!m.matches()) {
                throw new IllegalStateException("not a jdbc:postgresql://host[:port]/database URL: " + serverUrl);
            }
            String url = m.group(1) + database + m.group(3);
            execute(serverUrl, user, password, "create database " + database);
            Throwable failure = null;
            try {
                migrateAndGenerate(config, generation, url, user, password);
            } catch (Throwable t) {
                failure = t;
                throw t;
            } finally {
                drop(database, serverUrl, user, password, failure);
            }
            generation.recordInputs();
        }
    }

    private static void migrateAndGenerate(Path config, Generation generation, String url, String user,
            String password) throws Exception {
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setURL(url);
        if (user != null) {
            dataSource.setUser(user);
        }
        if (password != null) {
            dataSource.setPassword(password);
        }
        Flyway.configure()
                .dataSource(dataSource)
                .locations("filesystem:" + generation.migrations().toAbsolutePath())
                .failOnMissingLocations(true)
                .load()
                .migrate();

        Configuration configuration;
        try (InputStream in = Files.newInputStream(config)) {
            configuration = GenerationTool.load(in);
        }
        configuration.getGenerator().getDatabase().withInputSchema("public");
        configuration.getGenerator().getTarget()
                .withPackageName(generation.packageName())
                .withDirectory(generation.output().toAbsolutePath().toString());
        try (Connection connection = dataSource.getConnection()) {
            GenerationTool tool = new GenerationTool();
            tool.setConnection(connection);
            tool.run(configuration);
        }
    }

    private static void drop(String database, String serverUrl, String user, String password, Throwable failure)
            throws SQLException {
        try {
            execute(serverUrl, user, password, "drop database if exists " + database + " with (force)");
        } catch (SQLException | RuntimeException e) {
            SQLException cleanup = new SQLException("could not drop the temporary database " + database
                    + " of code generation; drop it by hand: " + e.getMessage(), e);
            if (failure == null) {
                throw cleanup;
            }
            failure.addSuppressed(cleanup);
        }
    }

    private static void execute(String url, String user, String password, String sql) throws SQLException {
        Properties properties = new Properties();
        if (user != null) {
            properties.setProperty("user", user);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        try (Connection c = DriverManager.getConnection(url, properties); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static EmbeddedPostgres startEmbedded() throws IOException {
        try {
            return EmbeddedPostgres.builder().start();
        } catch (IllegalStateException e) {
            if (String.valueOf(e.getMessage()).contains("Missing embedded postgres binaries")) {
                throw new IllegalStateException("no embedded PostgreSQL binaries for this platform ("
                        + System.getProperty("os.name") + ", " + System.getProperty("os.arch") + "): pom.xml's OS"
                        + " profiles add them for Linux, macOS and Windows on amd64 and arm64. Elsewhere, generate"
                        + " against a PostgreSQL server: -Dcodegen.url=jdbc:postgresql://host:5432/database"
                        + " (-Dcodegen.user, and the password in the environment variable CODEGEN_PASSWORD)", e);
            }
            throw e;
        }
    }

    /** An environment variable; empty means unset (the build passes every setting, empty when not given). */
    private static String setting(Map<String, String> environment, String name) {
        String value = environment.get(name);
        return value == null || value.isBlank() ? null : value.trim();
    }

    private static String hashInputs(Path config, Path migrations, String packageName, String url)
            throws IOException, NoSuchAlgorithmException {
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
        digest.update((packageName + "|" + url + "|" + org.jooq.Constants.VERSION).getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(digest.digest());
    }

    private Codegen() {}
}
