// Display helpers: times in China Standard Time (the deployments' zone), labels in Chinese.
const DT = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
});

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : DT.format(d);
}

export const SEVERITY: Record<string, string> = { red: "红", yellow: "黄", blue: "蓝" };
export const TIER: Record<string, string> = {
  grid: "网格",
  village: "村(社区)",
  township: "乡镇(街道)",
  county: "县级",
  city: "市级",
};
export const STATUS: Record<string, string> = {
  REPORTED: "已上报",
  SCREENING: "甄别中",
  REGISTERED: "已受理",
  DISPATCHED: "已交办",
  SIGNED: "已签收",
  IN_PROGRESS: "办理中",
  FEEDBACK: "已反馈",
  VERIFYING: "核查中",
  RETURN_REQUESTED: "申请退回",
  REVISIT: "回访中",
  CLOSED: "已办结",
  SUSPENDED: "已挂起",
  CANCELLED: "已撤销",
  INVALID: "不予受理",
  MERGED: "已并案",
  DIVERTED: "已分流",
};
export const LADDER = ["提示", "警示", "通报", "约谈", "督查"];

export function ladderName(level: number | null | undefined): string {
  if (level === null || level === undefined || level < 0) return "无";
  return LADDER[level] ?? `第 ${level + 1} 级`;
}

export function label(map: Record<string, string>, key: string | null | undefined): string {
  if (!key) return "—";
  return map[key] ? `${map[key]}` : key;
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The audit record's event types, in Chinese (the code stays visible beside it). */
export const EVENT_TYPES: Record<string, string> = {
  instance_started: "案件登记",
  instance_completed: "流程结束",
  instance_cancelled: "撤销",
  instance_suspended: "挂起",
  instance_resumed: "恢复",
  case_updated: "案件信息变更",
  task_created: "生成任务",
  task_claimed: "领取",
  task_unclaimed: "退回待领",
  task_assigned: "转派",
  task_completed: "办结任务",
  task_cancelled: "任务取消",
  comment_added: "备注",
  message_delivered: "收到消息",
  deadline_set: "设定时限",
  deadline_extended: "延期",
  deadline_passed: "超期",
  deadline_suspended: "时限暂停",
  deadline_resumed: "时限恢复",
  deadline_recomputed: "时限重算",
  extension_granted: "同意延期",
  extension_denied: "不同意延期",
  timer_fired: "计时触发",
};
