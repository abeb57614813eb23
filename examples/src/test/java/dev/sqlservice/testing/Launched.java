package dev.sqlservice.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/** A test class that runs only inside another test's JUnit launcher (which sets {@link #PARAMETER}), never on its own. */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(Launched.Condition.class)
@interface Launched {

    String PARAMETER = "sqlservice.harness.launched";

    /** Disables the class unless the launcher's configuration says it runs it. */
    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(PARAMETER).isPresent()
                    ? ConditionEvaluationResult.enabled("launched by a harness test")
                    : ConditionEvaluationResult.disabled("runs only inside a harness test's launcher");
        }
    }
}
