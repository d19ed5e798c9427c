// Types for the bpmn-io packages the designer uses that ship no declarations of their own
// (bpmn-js and diagram-js do ship theirs). Only what the designer calls is declared.

declare module "bpmn-js-properties-panel" {
  import type { ModuleDeclaration } from "didi";
  export const BpmnPropertiesPanelModule: ModuleDeclaration;
  export const BpmnPropertiesProviderModule: ModuleDeclaration;
  export function useService<T = unknown>(name: string, strict?: boolean): T;
}

declare module "@bpmn-io/properties-panel" {
  import type { VNode } from "@bpmn-io/properties-panel/preact";
  export interface EntryProps {
    element: unknown;
    id: string;
    label: string;
    description?: string;
    disabled?: boolean;
    getValue: (element: unknown) => string | undefined;
    setValue: (value: string, error?: string | null) => void;
    validate?: (value: string) => string | null | undefined;
  }
  export interface SelectProps extends EntryProps {
    getOptions: (element: unknown) => { value: string; label: string; disabled?: boolean }[];
  }
  export interface TextFieldProps extends EntryProps {
    debounce: (fn: (...args: unknown[]) => void) => (...args: unknown[]) => void;
    placeholder?: string;
  }
  // Preact components: called through the panel's own jsx runtime, never rendered by React.
  export const SelectEntry: (props: SelectProps) => VNode;
  export const TextFieldEntry: (props: TextFieldProps) => VNode;
  export function isSelectEntryEdited(node: unknown): boolean;
  export function isTextFieldEntryEdited(node: unknown): boolean;
}

declare module "dmn-js/lib/NavigatedViewer" {
  export default class DmnNavigatedViewer {
    constructor(options: { container: HTMLElement });
    importXML(xml: string): Promise<{ warnings: unknown[] }>;
    getViews(): { id: string; name?: string; type: string }[];
    open(view: { id: string; type: string }): Promise<unknown>;
    destroy(): void;
  }
}
