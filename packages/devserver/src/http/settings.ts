/**
 * GET /api/v1/settings, in the shape Temporal's ui-server returns (Go field names): auth off, write
 * actions allowed, no codec server. `Version` is the @temporalio/ui version the shell in
 * packages/devserver-ui pins: the UI reads it to choose its request shapes (from 2.23.0 on, path
 * parameters are percent-encoded once, which is what the router decodes).
 */
export const UI_VERSION = '2.38.0';

export function uiSettings(defaultNamespace = 'default') {
  return {
    Auth: { Enabled: false, Options: null },
    BannerText: '',
    DefaultNamespace: defaultNamespace,
    ShowTemporalSystemNamespace: false,
    FeedbackURL: '',
    NotifyOnNewVersion: false,
    Codec: {
      Endpoint: '',
      PassAccessToken: false,
      IncludeCredentials: false,
      DefaultErrorMessage: '',
      DefaultErrorLink: '',
    },
    Version: UI_VERSION,
    DisableWriteActions: false,
    WorkflowTerminateDisabled: false,
    WorkflowCancelDisabled: false,
    WorkflowSignalDisabled: false,
    WorkflowUpdateDisabled: false,
    WorkflowResetDisabled: false,
    BatchActionsDisabled: false,
    StartWorkflowDisabled: false,
    HideWorkflowQueryErrors: false,
    RefreshWorkflowCountsDisabled: false,
  };
}
