// The task / start form renderer: react-jsonschema-form over the shipped JSON Schema + UI
// schema, with bihuan's widgets, no invented defaults, and the server's 422 on the fields.
import { useMemo, type ReactNode } from "react";
import Form from "@rjsf/core";
import type { Experimental_DefaultFormStateBehavior, RJSFSchema, UiSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import type { FieldProblem, JsonObject } from "../api/types";
import { errorSchemaFrom, formLevel } from "./errors";
import { bihuanFields } from "./GeoField";
import { bihuanWidgets } from "./widgets";
import { translateZh } from "./zh";
import { orderWithout, resolveBranches, withoutForbidden } from "./branches";

/** Nothing is chosen for the caseworker: no first enum/oneOf option, no array items made up
 *  to reach `minItems`, no const taken as a value, no `false` for a required yes/no question.
 *  Only a `default` the schema states is used. */
export const NO_INVENTED_DEFAULTS: Experimental_DefaultFormStateBehavior = {
  arrayMinItems: { populate: "never", mergeExtraDefaults: false },
  emptyObjectFields: "skipEmptyDefaults",
  constAsDefaults: "never",
  allOf: "skipDefaults",
  mergeDefaultsIntoFormData: "useFormDataIfPresent",
  // rjsf answers an unanswered required yes/no with `false`; the caseworker must choose.
  requiredBooleanDefault: "skip",
};

/** The shipped schemas declare draft 2020-12; rjsf's validator runs draft-07, which reads every
 *  keyword the forms use. Dropping `$schema`/`$id` keeps Ajv from looking the meta-schema up. */
export function prepareSchema(schema: JsonObject): RJSFSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  void _s;
  void _i;
  return rest as RJSFSchema;
}

export interface FormViewProps {
  schema: JsonObject;
  uiSchema?: JsonObject | null;
  formData: JsonObject;
  onChange: (data: JsonObject) => void;
  onSubmit?: (data: JsonObject) => void;
  problems?: FieldProblem[];
  disabled?: boolean;
  readonly?: boolean;
  submitLabel?: string;
  children?: ReactNode;
  idPrefix?: string;
}

export function FormView(props: FormViewProps) {
  const base = useMemo(() => prepareSchema(props.schema), [props.schema]);
  // The branch in force decides which fields are shown; recomputed as the data changes.
  const resolved = useMemo(() => resolveBranches(base as JsonObject, props.formData), [base, props.formData]);
  // Identity of the resolved schema: which fields are hidden and which are required.
  const forbiddenKey = `${[...resolved.forbidden].sort().join(",")}|${((resolved.schema.required as string[]) ?? []).join(",")}`;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const schema = useMemo(() => resolved.schema as RJSFSchema, [base, forbiddenKey]);
  const uiSchema = useMemo(() => {
    const ui = orderWithout({ ...(props.uiSchema ?? {}) }, resolved.forbidden) as UiSchema;
    ui["ui:submitButtonOptions"] = {
      norender: !props.onSubmit,
      submitText: props.submitLabel ?? "提交",
      props: { disabled: props.disabled, className: "primary" },
    };
    return ui;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.uiSchema, props.onSubmit, props.submitLabel, props.disabled, forbiddenKey]);
  const problems = props.problems ?? [];
  const extraErrors = useMemo(() => errorSchemaFrom(problems), [problems]);
  const general = formLevel(problems);
  const clean = (data: unknown): JsonObject => {
    const d = (data ?? {}) as JsonObject;
    return withoutForbidden(d, resolveBranches(base as JsonObject, d).forbidden);
  };
  return (
    <div className="rjsf" data-testid="form">
      {general.length > 0 && (
        <div className="banner error" role="alert">
          {general.join("；")}
        </div>
      )}
      <Form
        schema={schema}
        uiSchema={uiSchema}
        formData={props.formData}
        validator={validator}
        widgets={bihuanWidgets}
        fields={bihuanFields}
        translateString={translateZh}
        experimental_defaultFormStateBehavior={NO_INVENTED_DEFAULTS}
        extraErrors={extraErrors}
        extraErrorsBlockSubmit={false}
        showErrorList={false}
        noHtml5Validate
        noValidate
        disabled={props.disabled}
        readonly={props.readonly}
        idPrefix={props.idPrefix}
        onChange={(e) => props.onChange(clean(e.formData))}
        onSubmit={(e) => props.onSubmit?.(clean(e.formData))}
      >
        {props.children}
      </Form>
    </div>
  );
}
