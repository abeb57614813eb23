package dev.sqlservice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.List;
import java.util.UUID;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.testcontainers.DockerClientFactory;

/** Bad input fails with a message naming the problem: locations, migrations, rights, containers. */
@SqlServiceTest(migrations = "classpath:harness-seed/{vendor}")
class HarnessErrorsTest {

    @Test
    void an_unknown_classpath_location__fails_naming_it() {
        assertThatThrownBy(() -> TestDatabase.locations(List.of("classpath:db/nowhere/{vendor}"), "postgresql"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'classpath:db/nowhere/postgresql' (from 'classpath:db/nowhere/{vendor}')")
                .hasMessageContaining("does not exist");
    }

    @Test
    void an_unknown_filesystem_location__fails_naming_it() {
        assertThatThrownBy(() -> TestDatabase.locations(List.of("filesystem:db/migration/oracle"), "oracle"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'filesystem:db/migration/oracle'")
                .hasMessageContaining("no directory");
    }

    @Test
    void an_unknown_location_in_the_annotation__fails_the_class_naming_it() {
        var summary = run(UnknownLocation.class);

        assertThat(summary.getTotalFailureCount()).isEqualTo(1);
        assertThat(summary.getFailures().getFirst().getException())
                .hasMessageContaining("'classpath:no/such/migrations'").hasMessageContaining("does not exist");
    }

    @Test
    void a_failing_migration__names_the_file_the_statement_and_the_reason_and_leaves_no_database(TestDatabase test,
            DSLContext dsl) {
        long before = testDatabases(dsl, test);

        assertThatThrownBy(() -> TestDatabase.create(test.server(), List.of("classpath:harness-broken"), new TestServers()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("V2__broken.sql")
                .hasMessageContaining("insert into nowhere values (2)")
                .hasMessageContaining("nowhere");

        assertThat(testDatabases(dsl, test)).as("test databases on the server").isEqualTo(before);
    }

    private static long testDatabases(DSLContext dsl, TestDatabase test) {
        String sql = test.dialect().family() == SQLDialect.POSTGRES
                ? "select count(*) from pg_database where datname like 'sqlservice\\_test\\_%'"
                : "select count(*) from information_schema.schemata where schema_name like 'sqlservice\\_test\\_%'";
        return ((Number) dsl.fetchValue(sql)).longValue();
    }

    @Test
    void a_user_without_the_right_to_create_databases__is_told_which_right(TestDatabase test, DSLContext dsl) {
        boolean postgres = test.dialect().family() == SQLDialect.POSTGRES;
        String user = "sqlservice_h15_" + Long.toString(System.nanoTime(), 36);
        String password = UUID.randomUUID().toString();
        dsl.execute(postgres ? "create role " + user + " login password '" + password + "'"
                : "create user '" + user + "'@'%' identified by '" + password + "'");
        try {
            // Without the embedded server's ?user=postgres, which the driver would prefer to the user given.
            String url = Urls.withoutParameters(test.url());
            url = postgres ? url : url.replaceFirst("(jdbc:[a-z]+://[^/]+/).*", "$1");
            Server server = new Server(url, user, password, () -> {});

            assertThatThrownBy(() -> server.create(TestDatabase.uniqueName()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("the user '" + user + "' lacks the right to create")
                    .hasMessageContaining(postgres ? "SQLState 42501" : "SQLState 42000")
                    .hasMessageContaining(postgres ? "createdb" : "grant create")
                    .hasMessageNotContaining(password);
        } finally {
            dsl.execute(postgres ? "drop role " + user : "drop user '" + user + "'@'%'");
        }
    }

    @Test
    void a_container_without_testcontainers_on_the_classpath__says_what_to_add() {
        ClassLoader withoutTestcontainers = new ClassLoader(null) {};

        assertThatThrownBy(() -> TestServers.container("postgres:18", withoutTestcontainers))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("org.testcontainers:testcontainers");
    }

    @Test
    void a_container_without_docker__names_the_embedded_default_and_sqlservice_test_url() {
        assumeFalse(DockerClientFactory.instance().isDockerAvailable(), "this test is about a machine without Docker");

        assertThatThrownBy(() -> TestServers.container("postgres:18", getClass().getClassLoader()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("postgres:18")
                .hasMessageContaining("needs a running Docker engine")
                .hasMessageContaining("embedded PostgreSQL 18")
                .hasMessageContaining("SQLSERVICE_TEST_URL");
    }

    @Test
    void a_container_named_in_the_annotation_or_the_property__without_docker__fails_the_class_with_that_message() {
        assumeFalse(DockerClientFactory.instance().isDockerAvailable(), "this test is about a machine without Docker");

        var annotated = run(InContainer.class);
        String previous = System.getProperty("sqlservice.test.container");
        System.setProperty("sqlservice.test.container", "mariadb:11");
        SummaryGeneratingListener property;
        try {
            property = runListener(Plain.class);
        } finally {
            if (previous == null) {
                System.clearProperty("sqlservice.test.container");
            } else {
                System.setProperty("sqlservice.test.container", previous);
            }
        }

        assertThat(annotated.getFailures().getFirst().getException())
                .hasMessageContaining("postgres:18").hasMessageContaining("SQLSERVICE_TEST_URL");
        assertThat(property.getSummary().getFailures().getFirst().getException())
                .hasMessageContaining("mariadb:11").hasMessageContaining("SQLSERVICE_TEST_URL");
    }

    @Test
    void an_image_that_does_not_say_its_database__is_refused() {
        assertThatThrownBy(() -> TestServers.container("oracle/free:23", getClass().getClassLoader()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'oracle/free:23'")
                .hasMessageContaining("postgres, mariadb or mysql");
    }

    static org.junit.platform.launcher.listeners.TestExecutionSummary run(Class<?> testClass) {
        return runListener(testClass).getSummary();
    }

    private static SummaryGeneratingListener runListener(Class<?> testClass) {
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(testClass))
                .configurationParameter(Launched.PARAMETER, "true").build(), listener);
        return listener;
    }

    /** Run only by the launcher above (surefire skips nested classes). */
    @Launched
    @SqlServiceTest(migrations = "classpath:no/such/migrations")
    static class UnknownLocation {
        @Test
        void needsTheDatabase(DSLContext dsl) {
            dsl.fetch("select 1");
        }
    }

    /** Run only by the launcher above. */
    @Launched
    @SqlServiceTest(migrations = "classpath:harness-seed/{vendor}", container = "postgres:18")
    static class InContainer {
        @Test
        void needsTheDatabase(DSLContext dsl) {
            dsl.fetch("select 1");
        }
    }

    /** Run only by the launcher above. */
    @Launched
    @SqlServiceTest(migrations = "classpath:harness-seed/{vendor}")
    static class Plain {
        @Test
        void needsTheDatabase(DSLContext dsl) {
            dsl.fetch("select 1");
        }
    }
}
