// flowgate test stub: the constant the query builders read (common/.../WorkflowClassifier.java: "workflow").
package com.netflix.conductor.common.metadata.workflow;

public final class WorkflowClassifier {
    public static final String WORKFLOW = "workflow";

    private WorkflowClassifier() {}
}
