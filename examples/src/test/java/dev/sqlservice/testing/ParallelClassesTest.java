package dev.sqlservice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * Test classes that JUnit runs at the same time each get their own migrated database, and sequential ones share
 * one: run through JUnit's launcher with parallel classes switched on, as a user's junit-platform.properties does.
 */
class ParallelClassesTest {

    static final CyclicBarrier BOTH_WROTE = new CyclicBarrier(2);
    static final Map<String, String> URLS = new ConcurrentHashMap<>();
    
    @Test
    void classes_running_at_the_same_time__never_see_each_others_rows() {
        URLS.clear();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(Writer1.class), selectClass(Writer2.class))
                .configurationParameters(Map.of(
                        "junit.jupiter.execution.parallel.enabled", "true",
                        "junit.jupiter.execution.parallel.mode.default", "same_thread",
                        "junit.jupiter.execution.parallel.mode.classes.default", "concurrent",
                        "junit.jupiter.execution.parallel.config.strategy", "fixed",
                        "junit.jupiter.execution.parallel.config.fixed.parallelism", "2",
                        Launched.PARAMETER, "true"))
                .build(), listener);

        assertThat(listener.getSummary().getFailures()).as("failures").isEmpty();
        assertThat(listener.getSummary().getTestsSucceededCount()).isEqualTo(2);
        assertThat(URLS).hasSize(2);
        assertThat(URLS.get("writer1")).as("each class its own database").isNotEqualTo(URLS.get("writer2"));
    }

    @Test
    void classes_running_one_after_the_other__share_one_database() {
        URLS.clear();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(Reader1.class), selectClass(Reader2.class))
                .configurationParameter(Launched.PARAMETER, "true").build(), listener);

        assertThat(listener.getSummary().getTestsSucceededCount()).isEqualTo(2);
        assertThat(URLS.get("reader1")).isEqualTo(URLS.get("reader2"));
    }

    static void writeWaitAndRead(String who, DSLContext dsl, TestDatabase test) throws Exception {
        URLS.put(who, test.url());
        dsl.execute("insert into people (name, country_code) values ('" + who + "', 'DE')");
        BOTH_WROTE.await(60, TimeUnit.SECONDS); // both classes are running now, each has written
        List<String> names = dsl.fetch("select name from people").map(r -> r.get(0, String.class));
        assertThat(names).as("rows seen by " + who).containsExactly(who);
        assertThat(dsl.fetch("select code from countries")).as("seed rows").hasSize(3);
    }

    /** Run only by the launcher above (surefire skips nested classes). */
    @Launched
    @SqlServiceTest(migrations = "classpath:harness-seed/{vendor}")
    static class Writer1 {
        @Test
        void writes(DSLContext dsl, TestDatabase test) throws Exception {
            writeWaitAndRead("writer1", dsl, test);
        }
    }

    /** Run only by the launcher above. */
    @Launched
    @SqlServiceTest(migrations = "classpath:harness-seed/{vendor}")
    static class Writer2 {
        @Test
        void writes(DSLContext dsl, TestDatabase test) throws Exception {
            writeWaitAndRead("writer2", dsl, test);
        }
    }

    /** Run only by the launcher above. */
    @Launched
    @SqlServiceTest(migrations = "classpath:harness-seed/{vendor}")
    static class Reader1 {
        @Test
        void reads(TestDatabase test) {
            URLS.put("reader1", test.url());
        }
    }

    /** Run only by the launcher above. */
    @Launched
    @SqlServiceTest(migrations = "classpath:harness-seed/{vendor}")
    static class Reader2 {
        @Test
        void reads(TestDatabase test) {
            URLS.put("reader2", test.url());
        }
    }
}
