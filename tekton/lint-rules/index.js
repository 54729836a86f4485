// tekton-lint 1.1.0's no-missing-param, no-undefined-result, no-missing-resource and
// no-missing-workspace rules predate Tekton v1 features these pipelines use: matrix params (a
// required param may be supplied by matrix.params), whole-array result references
// ($(tasks.build.results.IMAGE_REF[*])), custom tasks referenced by apiVersion/kind (the
// manual-approval-gate ApprovalTask) and optional Pipeline workspaces (a TriggerTemplate need not
// bind them). The configuration (tekton/.tektonlintrc.yaml) turns those four rules off and loads
// these replacements, which make the same checks with those features understood.

const tasksOf = (pipeline) => [...(pipeline.spec?.tasks ?? []), ...(pipeline.spec?.finally ?? [])];

// A custom task: taskRef names an apiVersion and a kind other than Task.
const isCustomTask = (ref) => Boolean(ref?.apiVersion) && ref?.kind && ref.kind !== 'Task';

const resultRef = /\$\(tasks\.([^.)]+)\.results\.([^.)[\]]+)(\[[^\]]*\])?(\.[^)]+)?\)/g;

function walk(node, path, visit) {
  if (typeof node === 'string') {
    visit(node, path);
  } else if (Array.isArray(node)) {
    node.forEach((child, i) => walk(child, [...path, i], visit));
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) walk(value, [...path, key], visit);
  }
}

const missingParam = (docs, tekton, report) => {
  for (const pipeline of Object.values(tekton.pipelines)) {
    for (const pt of tasksOf(pipeline)) {
      if (!pt.taskRef || isCustomTask(pt.taskRef)) continue;
      const task = tekton.tasks[pt.taskRef.name];
      if (!task) continue;
      const supplied = new Set([
        ...(pt.params ?? []).map((p) => p.name),
        ...(pt.matrix?.params ?? []).map((p) => p.name),
      ]);
      for (const param of task.spec.params ?? []) {
        if (param.default === undefined && !supplied.has(param.name)) {
          report(
            `Pipeline '${pipeline.metadata.name}' references task '${task.metadata.name}' (as '${pt.name}'), but parameter '${param.name}' is not supplied (it's a required param in '${task.metadata.name}')`,
            pt,
            'taskRef',
          );
        }
      }
    }
  }
  for (const template of Object.values(tekton.triggerTemplates)) {
    for (const rt of template.spec?.resourcetemplates ?? []) {
      const pipeline = tekton.pipelines[rt.spec?.pipelineRef?.name];
      if (!pipeline) continue;
      const supplied = new Set((rt.spec.params ?? []).map((p) => p.name));
      for (const param of pipeline.spec.params ?? []) {
        if (param.default === undefined && !supplied.has(param.name)) {
          report(
            `Pipeline '${pipeline.metadata.name}' references param '${param.name}', but it is not supplied in triggerTemplate '${template.metadata.name}'`,
            rt,
            'spec',
          );
        }
      }
    }
  }
};

const undefinedResult = (docs, tekton, report) => {
  for (const pipeline of Object.values(tekton.pipelines)) {
    const byName = Object.fromEntries(tasksOf(pipeline).map((pt) => [pt.name, pt]));
    walk(pipeline.spec, ['spec'], (value, path) => {
      for (const [, producer, result] of value.matchAll(resultRef)) {
        const pt = byName[producer];
        if (!pt) {
          report(`In Pipeline '${pipeline.metadata.name}' the value on path '${path.join('.')}' refers to task '${producer}', which is not in the pipeline`, pipeline, 'spec');
          continue;
        }
        if (!pt.taskRef || isCustomTask(pt.taskRef)) continue;
        const task = tekton.tasks[pt.taskRef.name];
        if (!task) continue;
        if (!(task.spec.results ?? []).some((r) => r.name === result)) {
          report(
            `In Pipeline '${pipeline.metadata.name}' the value on path '${path.join('.')}' refers to an undefined output result ('${result}' is not a result of Task '${task.metadata.name}')`,
            pipeline,
            'spec',
          );
        }
      }
    });
  }
};

const missingResource = (docs, tekton, report) => {
  for (const pipeline of Object.values(tekton.pipelines)) {
    for (const pt of tasksOf(pipeline)) {
      if (!pt.taskRef || isCustomTask(pt.taskRef) || pt.taskRef.resolver) continue;
      if (!tekton.tasks[pt.taskRef.name]) {
        report(
          `Pipeline '${pipeline.metadata.name}' references task '${pt.taskRef.name}' but the referenced task cannot be found. To fix this, include all the task definitions to the lint task for this pipeline`,
          pt.taskRef,
          'name',
        );
      }
    }
  }
  for (const template of Object.values(tekton.triggerTemplates)) {
    for (const rt of template.spec?.resourcetemplates ?? []) {
      const name = rt.spec?.pipelineRef?.name;
      if (rt.kind !== 'PipelineRun' || !name || /\$\(/.test(name)) continue;
      if (!tekton.pipelines[name]) {
        report(`TriggerTemplate '${template.metadata.name}' references pipeline '${name}', but the referenced pipeline cannot be found.`, rt.spec.pipelineRef, 'name');
      }
    }
  }
  const triggers = docs.filter((d) => d.kind === 'Trigger');
  const byKind = (kind, name) => docs.some((d) => d.kind === kind && d.metadata?.name === name);
  const checkTrigger = (owner, spec) => {
    for (const binding of spec.bindings ?? []) {
      const kind = binding.kind ?? 'TriggerBinding';
      if (binding.ref && !byKind(kind, binding.ref)) {
        report(`${owner} refers to ${kind} '${binding.ref}', which cannot be found`, binding, 'ref');
      }
    }
    const ref = spec.template?.ref;
    if (ref && !tekton.triggerTemplates[ref]) {
      report(`${owner} refers to TriggerTemplate '${ref}', which cannot be found`, spec.template, 'ref');
    }
  };
  for (const trigger of triggers) checkTrigger(`Trigger '${trigger.metadata.name}'`, trigger.spec ?? {});
  for (const listener of Object.values(tekton.listeners)) {
    for (const t of listener.spec?.triggers ?? []) {
      if (t.triggerRef && !triggers.some((d) => d.metadata?.name === t.triggerRef)) {
        report(`EventListener '${listener.metadata.name}' refers to Trigger '${t.triggerRef}', which cannot be found`, t, 'triggerRef');
      }
      checkTrigger(`EventListener '${listener.metadata.name}'`, t);
    }
  }
};

const missingWorkspace = (docs, tekton, report) => {
  for (const pipeline of Object.values(tekton.pipelines)) {
    const declared = new Set((pipeline.spec.workspaces ?? []).map((w) => w.name));
    for (const pt of tasksOf(pipeline)) {
      for (const binding of pt.workspaces ?? []) {
        const target = binding.workspace ?? binding.name;
        if (!declared.has(target)) {
          report(
            `Pipeline '${pipeline.metadata.name}' binds workspace '${target}' for '${binding.name}' of task '${pt.name}', but '${target}' is not a workspace of the pipeline`,
            binding,
            'workspace',
          );
        }
      }
      if (!pt.taskRef || isCustomTask(pt.taskRef)) continue;
      const task = tekton.tasks[pt.taskRef.name];
      if (!task) continue;
      const bound = new Set((pt.workspaces ?? []).map((w) => w.name));
      for (const ws of task.spec.workspaces ?? []) {
        if (!ws.optional && !bound.has(ws.name)) {
          report(
            `Pipeline '${pipeline.metadata.name}' references Task '${task.metadata.name}' (as '${pt.name}'), but provides no workspace for '${ws.name}' (it's a required workspace in '${task.metadata.name}')`,
            pt,
            'taskRef',
          );
        }
      }
    }
  }
  const runs = [
    ...Object.values(tekton.pipelineRuns).map((run) => [`PipelineRun '${run.metadata.name}'`, run]),
    ...Object.values(tekton.triggerTemplates).flatMap((t) =>
      (t.spec?.resourcetemplates ?? [])
        .filter((rt) => rt.kind === 'PipelineRun')
        .map((rt) => [`TriggerTemplate '${t.metadata.name}'`, rt]),
    ),
  ];
  for (const [owner, run] of runs) {
    const pipeline = tekton.pipelines[run.spec?.pipelineRef?.name];
    if (!pipeline) continue;
    const provided = new Set((run.spec.workspaces ?? []).map((w) => w.name));
    for (const ws of pipeline.spec.workspaces ?? []) {
      if (!ws.optional && !provided.has(ws.name)) {
        report(
          `${owner} references Pipeline '${pipeline.metadata.name}', but provides no workspace for '${ws.name}' (it's a required workspace in '${pipeline.metadata.name}')`,
          run,
          'spec',
        );
      }
    }
  }
};

export default {
  rules: [
    { name: 'no-missing-workspace', ruleFn: missingWorkspace, reportDefault: 'error' },
    { name: 'no-missing-param', ruleFn: missingParam, reportDefault: 'error' },
    { name: 'no-undefined-result', ruleFn: undefinedResult, reportDefault: 'error' },
    { name: 'no-missing-resource', ruleFn: missingResource, reportDefault: 'error' },
  ],
};
