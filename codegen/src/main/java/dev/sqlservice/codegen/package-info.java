/**
 * jOOQ code generation from Flyway migrations: {@link dev.sqlservice.codegen.FlywayPostgresDatabase} migrates a
 * temporary PostgreSQL database (embedded PostgreSQL 18 by default) and lets jOOQ's code generator read it.
 */
package dev.sqlservice.codegen;
