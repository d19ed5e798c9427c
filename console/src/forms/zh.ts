// rjsf's own words in Chinese (buttons, yes/no, empty arrays): text caseworkers see.
import { englishStringTranslator, TranslatableString } from "@rjsf/utils";

const ZH: Partial<Record<TranslatableString, string>> = {
  [TranslatableString.ArrayItemTitle]: "第 %1 项",
  [TranslatableString.EmptyArray]: "尚未添加。请点击下方按钮添加。",
  [TranslatableString.YesLabel]: "是",
  [TranslatableString.NoLabel]: "否",
  [TranslatableString.CloseLabel]: "关闭",
  [TranslatableString.ErrorsLabel]: "错误",
  [TranslatableString.AddButton]: "添加",
  [TranslatableString.AddItemButton]: "添加",
  [TranslatableString.CopyButton]: "复制",
  [TranslatableString.MoveDownButton]: "下移",
  [TranslatableString.MoveUpButton]: "上移",
  [TranslatableString.RemoveButton]: "删除",
  [TranslatableString.NowLabel]: "现在",
  [TranslatableString.ClearLabel]: "清除",
  [TranslatableString.AriaDateLabel]: "选择日期",
  [TranslatableString.ClearButton]: "清除输入",
  [TranslatableString.OptionalObjectAdd]: "填写此项",
  [TranslatableString.OptionalObjectRemove]: "不填此项",
  [TranslatableString.OptionalObjectEmptyMsg]: "此项未填写",
};

export function translateZh(key: TranslatableString, params?: string[]): string {
  const zh = ZH[key];
  if (!zh) return englishStringTranslator(key, params);
  return (params ?? []).reduce((s, p, i) => s.replaceAll(`%${i + 1}`, p), zh);
}
