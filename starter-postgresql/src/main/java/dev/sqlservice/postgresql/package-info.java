/**
 * The PostgreSQL starter {@code dev.sqlservice:sqlservice-postgresql}: no code, one dependency that brings
 * {@code dev.sqlservice:sqlservice}, the PostgreSQL JDBC driver ({@code org.postgresql:postgresql}) and Flyway's
 * PostgreSQL plugin ({@code org.flywaydb:flyway-database-postgresql}) at the versions sqlservice is tested with.
 * The API is in {@code dev.sqlservice}.
 */
package dev.sqlservice.postgresql;
