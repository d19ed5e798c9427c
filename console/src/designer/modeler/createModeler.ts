// The bpmn-js Modeler with the properties panel and bihuan's provider. Loaded on demand
// (`import()` from ModelerPage) so the modeler is its own chunk, fetched only by designers.
import Modeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";
import spiffworkflow from "../spiffworkflow.json";
import BihuanPropertiesProvider, { CatalogHolder } from "./BihuanPropertiesProvider";
import translate from "./translate";

export { CatalogHolder };

export function createModeler(canvas: HTMLElement, panel: HTMLElement, catalog: CatalogHolder): Modeler {
  return new Modeler({
    container: canvas,
    propertiesPanel: { parent: panel, layout: { groups: { bihuan: { open: true } } } },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      {
        __init__: ["bihuanPropertiesProvider"],
        bihuanPropertiesProvider: ["type", BihuanPropertiesProvider],
        bihuanCatalog: ["value", catalog],
      },
      { translate: ["value", translate] },
    ],
    moddleExtensions: { spiffworkflow },
  });
}
