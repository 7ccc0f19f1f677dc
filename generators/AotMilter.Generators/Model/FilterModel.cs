namespace AotMilter.Generators.Model;

/// <summary>
/// Everything needed to emit one filter's dispatcher and registration. Holds no location, so moving the class
/// in its file does not re-emit it.
/// </summary>
/// <param name="Name">The name given in [Milter].</param>
/// <param name="Description">The Description given in [Milter], or null.</param>
/// <param name="TypeName">The class, fully qualified without "global::" (what MilterRegistration.TypeName shows).</param>
/// <param name="FullyQualifiedTypeName">The class as the emitted code names it ("global::Ns.Filter").</param>
/// <param name="DispatcherName">The name of the emitted file-local dispatcher class.</param>
/// <param name="FactoryName">The name of the catalog method that creates the registration.</param>
/// <param name="HintName">The generated file's name.</param>
/// <param name="Callbacks">The handled events, in <see cref="MilterEvent"/> order.</param>
/// <param name="Protocol">The derived SMFIP_* bits.</param>
/// <param name="Actions">The derived SMFIF_* bits.</param>
/// <param name="Macros">The macros read by [Macro] parameters, per stage, in stage order.</param>
/// <param name="SettingsTypeName">The settings type the constructor takes ("global::Ns.Settings"), or null.</param>
/// <param name="Resettable">The class implements IResettableFilter: its instance may serve the next connection.</param>
internal sealed record FilterModel(
    string Name,
    string? Description,
    string TypeName,
    string FullyQualifiedTypeName,
    string DispatcherName,
    string FactoryName,
    string HintName,
    EquatableArray<CallbackModel> Callbacks,
    uint Protocol,
    uint Actions,
    EquatableArray<MacroRequestModel> Macros,
    string? SettingsTypeName,
    bool Resettable = false);
