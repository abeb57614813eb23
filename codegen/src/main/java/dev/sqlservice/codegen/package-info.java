/**
 * jOOQ code generation from Flyway migrations, for {@code jooq-codegen-maven}: {@link
 * dev.sqlservice.codegen.FlywayPostgresDatabase} migrates a temporary PostgreSQL database (on an embedded PostgreSQL
 * 18 by default, a server by URL or a Testcontainers container), {@link dev.sqlservice.codegen.FlywayMariaDBDatabase}
 * and {@link dev.sqlservice.codegen.FlywayMySQLDatabase} a temporary database on a MariaDB or MySQL server by URL
 * (or in a container), and jOOQ's code generator reads it; {@link dev.sqlservice.codegen.MigrationsVersion} keeps
 * the generated classes, starting nothing, when the migrations did not change.
 */
package dev.sqlservice.codegen;
