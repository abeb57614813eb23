/**
 * The MariaDB and MySQL starter {@code dev.sqlservice:sqlservice-mariadb}: no code, one dependency that brings
 * {@code dev.sqlservice:sqlservice}, the MariaDB JDBC driver ({@code org.mariadb.jdbc:mariadb-java-client}, which
 * also connects to MySQL) and Flyway's MySQL/MariaDB plugin ({@code org.flywaydb:flyway-mysql}) at the versions
 * sqlservice is tested with. The API is in {@code dev.sqlservice}.
 */
package dev.sqlservice.mariadb;
