package dev.sqlservice;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.jooq.Configuration;
import org.jooq.ConverterContext;
import org.jooq.DSLContext;
import org.jooq.ExecuteContext;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;

/**
 * What a jOOQ binding asks of its context beyond the value itself, for the library's direct reads
 * ({@link DirectRows}) and binds ({@link DirectBinds}): the configuration of a {@link DSLContext}, its settings and
 * dialect, a creation time and a data map, and itself as the converter context. There is no
 * {@link ExecuteContext}: {@link #executeContext()} answers null, which the built-in bindings those classes take
 * never ask for (jOOQ's bindings then take the configuration as the one to attach values to). One instance serves
 * one run, on the calling thread.
 */
abstract class DirectScope implements ConverterContext {
    private final DSLContext dsl;
    private final Configuration configuration;
    private Instant creationTime;
    private Map<Object, Object> data;

    DirectScope(DSLContext dsl) {
        this.dsl = dsl;
        this.configuration = dsl.configuration();
    }

    /** Itself, as the {@code converterContext()} of a binding's context. */
    public final ConverterContext converterContext() {
        return this;
    }

    /** None (see the class comment). */
    public final ExecuteContext executeContext() {
        return null;
    }

    @Override
    public final Instant creationTime() {
        if (creationTime == null) {
            creationTime = Instant.now();
        }
        return creationTime;
    }

    @Override
    public final Configuration configuration() {
        return configuration;
    }

    @Override
    public final DSLContext dsl() {
        return dsl;
    }

    @Override
    public final Settings settings() {
        return configuration.settings();
    }

    @Override
    public final SQLDialect dialect() {
        return configuration.dialect();
    }

    @Override
    public final SQLDialect family() {
        return configuration.family();
    }

    @Override
    public final Map<Object, Object> data() {
        if (data == null) {
            data = new HashMap<>();
        }
        return data;
    }

    @Override
    public final Object data(Object key) {
        return data().get(key);
    }

    @Override
    public final Object data(Object key, Object value) {
        return data().put(key, value);
    }
}
