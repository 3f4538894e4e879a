// The Standard Schema interface (https://standardschema.dev), v1. Declared here rather than
// imported so the package has no dependency for it; zod, valibot, arktype and others
// implement it structurally.

/** A validator that follows the Standard Schema spec. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The validator's Standard Schema interface. */
  readonly '~standard': StandardSchemaProps<Input, Output>;
}

/** The `~standard` property of a Standard Schema validator. */
export interface StandardSchemaProps<Input = unknown, Output = Input> {
  /** The version of the Standard Schema spec: 1. */
  readonly version: 1;
  /** The library that made the validator, e.g. `zod`. */
  readonly vendor: string;
  /** Validate a value: its output, or the issues found (sync or async). */
  readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
  /** Carries the input and output types, for inference only (never set at run time). */
  readonly types?:
    | {
        /** The type the validator accepts. */
        readonly input: Input;
        /** The type it produces. */
        readonly output: Output;
      }
    | undefined;
}

/** What a Standard Schema validator returns: the validated output, or the issues. */
export type StandardSchemaResult<Output> =
  | {
      /** The validated (possibly transformed) value. */
      readonly value: Output;
      /** Absent on success. */
      readonly issues?: undefined;
    }
  | {
      /** Why the value is invalid. */
      readonly issues: ReadonlyArray<StandardSchemaIssue>;
    };

/** One problem a Standard Schema validator found. */
export interface StandardSchemaIssue {
  /** What is wrong, in the validator's words. */
  readonly message: string;
  /** Where in the value, from the root. */
  readonly path?:
    | ReadonlyArray<
        | PropertyKey
        | {
            /** One step of the path. */
            readonly key: PropertyKey;
          }
      >
    | undefined;
}

/** The output type of a Standard Schema validator. */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];
