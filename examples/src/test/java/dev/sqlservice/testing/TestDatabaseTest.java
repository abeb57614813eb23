package dev.sqlservice.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The harness's public surface: a test may use the shared test database, never end it for the classes after it. */
class TestDatabaseTest {

    @Test
    void test_database__offers_no_public_way_to_drop_the_shared_database() {
        assertThat(AutoCloseable.class.isAssignableFrom(TestDatabase.class))
                .as("TestDatabase is AutoCloseable, so try-with-resources in a test would drop the shared database")
                .isFalse();
        assertThat(Arrays.stream(TestDatabase.class.getMethods())
                        .filter(m -> m.getDeclaringClass() == TestDatabase.class)
                        .filter(m -> Modifier.isPublic(m.getModifiers()))
                        .map(Method::getName))
                .as("public methods of TestDatabase")
                .doesNotContain("close", "drop");
    }
}
