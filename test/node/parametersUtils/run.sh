#!/bin/sh
# Conductor's own ParametersUtils (with EnvUtils and EnvVarLookup) and json-path 2.4.0 (the version
# conductor-oss/conductor's dependencies.gradle pins), compiled from their git sources beside the stubs in java/,
# read JSON lines on stdin: {"input": {...}, "params": {...}} resolves `params` as a task's inputParameters
# (getTaskInputV2 over a workflow with that input), {"payload": {...}, "params": {...}} as an event handler's
# action input (replace(input, payload)); each answer shows the resolved input and what substituteSecrets hands off.
# Written by attack25 to check what a definition's `${...}` does on the real reader; not run by CI.
#
#   CONDUCTOR_GIT_DIR=/path/conductor.git JSONPATH_GIT_DIR=/path/JsonPath.git M2=~/.m2/repository \
#     sh test/node/parametersUtils/run.sh <<'Q'
#   {"input":{"parts":["$","{workflow.secrets.DB}"]},"params":{"s":"${workflow.input.parts.concat()}"}}
#   Q
# with -DCONDUCTOR_SECRET_DB=hunter2 (set below) prints "handedOff":{"s":"hunter2"}.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${TMPDIR:-/tmp}/flowgate-parametersutils
M2=${M2:-$HOME/.m2/repository}
CP="$M2/net/minidev/json-smart/2.6.0/json-smart-2.6.0.jar:$(ls "$M2"/net/minidev/accessors-smart/*/*.jar | head -1):$(ls "$M2"/org/slf4j/slf4j-api/1.7.36/*.jar):$(ls "$M2"/com/fasterxml/jackson/core/jackson-databind/2.18.2/*.jar):$(ls "$M2"/com/fasterxml/jackson/core/jackson-core/2.18.2/*.jar):$(ls "$M2"/com/fasterxml/jackson/core/jackson-annotations/*/*.jar | head -1):$(ls "$M2"/org/apache/commons/commons-lang3/3.18.0/*.jar)"
if [ ! -d "$work/out" ]; then
  rm -rf "$work" && mkdir -p "$work/jp" "$work/src" "$work/out"
  git --git-dir="$JSONPATH_GIT_DIR" archive json-path-2.4.0 json-path/src/main/java | tar x -C "$work/jp"
  find "$work/jp" -name '*.java' | grep -vE 'Gson|Jettison|Tapestry|JsonOrg' > "$work/jp.files"
  javac -nowarn -d "$work/out" -cp "$CP" @"$work/jp.files"
  for f in core/src/main/java/com/netflix/conductor/core/utils/ParametersUtils.java \
    common/src/main/java/com/netflix/conductor/common/utils/EnvUtils.java \
    core/src/main/java/com/netflix/conductor/core/env/EnvVarLookup.java; do
    mkdir -p "$work/src/$(dirname "${f#*/src/main/java/}")"
    git --git-dir="$CONDUCTOR_GIT_DIR" show "b54f0d4ee546c1053367e1c14405c5396c17bfb1:$f" > "$work/src/${f#*/src/main/java/}"
  done
  javac -nowarn -d "$work/out" -cp "$CP:$work/out" $(find "$work/src" "$here/java" -name '*.java')
fi
exec java -DCONDUCTOR_SECRET_DB=hunter2 -cp "$CP:$work/out" Oracle
