// The `geo` field of the report form (ui:field "geo"): latitude and longitude (WGS-84), typed in
// or taken from the phone's position. Nothing is filled in for the caseworker.
import { useState } from "react";
import type { FieldProps, RegistryFieldsType } from "@rjsf/utils";

interface Geo {
  lat?: number;
  lng?: number;
}

function num(text: string): number | undefined {
  if (text.trim() === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

export function GeoField(props: FieldProps) {
  const { fieldPathId, formData, onChange, disabled, readonly, schema, rawErrors } = props;
  const value = (formData ?? {}) as Geo;
  const [note, setNote] = useState<string | null>(null);
  const id = fieldPathId.$id;
  const set = (next: Geo) => {
    const empty = next.lat === undefined && next.lng === undefined;
    onChange(empty ? undefined : next, fieldPathId.path);
  };
  const locate = () => {
    if (!("geolocation" in navigator)) {
      setNote("此设备不支持定位，请手工填写。");
      return;
    }
    setNote("正在定位…");
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        set({ lat: Number(pos.coords.latitude.toFixed(6)), lng: Number(pos.coords.longitude.toFixed(6)) });
        setNote(`已定位（精度约 ${Math.round(pos.coords.accuracy)} 米）`);
      },
      (err) => setNote(`定位失败：${err.message || "未授权"}，请手工填写。`),
      { enableHighAccuracy: true, timeout: 15000 },
    );
  };
  return (
    <fieldset className="geo-field" id={id} data-testid="geo-field">
      <legend>{schema.title ?? "坐标"}</legend>
      <div className="row">
        <label>
          纬度
          <input
            id={`${id}_lat`}
            type="number"
            step="any"
            min={-90}
            max={90}
            value={value.lat ?? ""}
            disabled={disabled || readonly}
            onChange={(e) => set({ ...value, lat: num(e.target.value) })}
          />
        </label>
        <label>
          经度
          <input
            id={`${id}_lng`}
            type="number"
            step="any"
            min={-180}
            max={180}
            value={value.lng ?? ""}
            disabled={disabled || readonly}
            onChange={(e) => set({ ...value, lng: num(e.target.value) })}
          />
        </label>
        {!(disabled || readonly) && (
          <button type="button" onClick={locate}>
            使用当前位置
          </button>
        )}
      </div>
      {schema.description && <p className="muted">{schema.description}</p>}
      {note && <p className="muted" role="status">{note}</p>}
      {rawErrors && rawErrors.length > 0 && <p className="error">{rawErrors.join("；")}</p>}
    </fieldset>
  );
}

export const bihuanFields: RegistryFieldsType = { geo: GeoField };
