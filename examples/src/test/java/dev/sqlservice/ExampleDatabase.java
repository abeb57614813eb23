package dev.sqlservice;

import dev.sqlservice.testing.SqlServiceTest;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** The example schema of db/migration, for the backend the test run points at. */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SqlServiceTest(migrations = "filesystem:db/migration/{vendor}")
public @interface ExampleDatabase {}
