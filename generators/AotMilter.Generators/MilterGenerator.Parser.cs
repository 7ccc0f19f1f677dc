using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using System.Threading;
using AotMilter.Generators.Model;
using AotMilter.Protocol;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AotMilter.Generators;

public sealed partial class MilterGenerator
{
    /// <summary>Symbols in, models out. Nothing here keeps a symbol, syntax node or compilation past its return.</summary>
    internal static partial class Parser
    {
        private const int CallbackCount = 12;

        /// <summary>"Ns.Outer.Filter": what MilterRegistration.TypeName shows and diagnostics quote.</summary>
        private static readonly SymbolDisplayFormat s_typeNameFormat =
            SymbolDisplayFormat.FullyQualifiedFormat.WithGlobalNamespaceStyle(SymbolDisplayGlobalNamespaceStyle.Omitted);

        public static FilterParseResult ParseFilter(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var known = new KnownTypes(context.SemanticModel.Compilation);
            var diagnostics = new List<DiagnosticInfo>();
            string typeName = type.ToDisplayString(s_typeNameFormat);
            LocationInfo? classLocation = context.TargetNode is BaseTypeDeclarationSyntax declaration
                ? LocationInfo.From(declaration.Identifier.GetLocation())
                : LocationInfo.From(type);
            bool blocked = false;

            // [Milter("name", Description = "...", RejectedRecipients = true, RawHeaderValues = true)]
            AttributeData attribute = context.Attributes[0];
            string? name = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;
            string? description = null;
            bool rejectedRecipients = false;
            bool rawHeaderValues = false;
            foreach (KeyValuePair<string, TypedConstant> argument in attribute.NamedArguments)
            {
                switch (argument.Key)
                {
                    case "Description":
                        description = argument.Value.Value as string;
                        break;
                    case "RejectedRecipients":
                        rejectedRecipients = argument.Value.Value is true;
                        break;
                    case "RawHeaderValues":
                        rawHeaderValues = argument.Value.Value is true;
                        break;
                }
            }

            if (!IsValidFilterName(name))
            {
                blocked = true;

                // [Milter] without an argument already fails to compile (CS7036): one error is enough.
                if (attribute.AttributeConstructor is not null)
                {
                    LocationInfo? at = LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken)) ?? classLocation;
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidFilterName, at, name ?? "", typeName));
                }
            }

            string? settingsType = null;
            string? classProblem = FindClassProblem(type);
            if (classProblem is not null)
            {
                blocked = true;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedFilterClass, classLocation, typeName, classProblem));
            }
            else if (!FindConstructor(type, known, out settingsType, out string constructorProblem))
            {
                blocked = true;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NoParameterlessConstructor, classLocation, typeName, constructorProblem));
            }

            // The callbacks, bound by attribute.
            var callbacks = new CallbackModel?[CallbackCount];
            var methods = new IMethodSymbol?[CallbackCount];
            foreach (ISymbol member in type.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (member is not IMethodSymbol method)
                {
                    continue;
                }

                foreach (AttributeData methodAttribute in method.GetAttributes())
                {
                    int index = known.CallbackIndex(methodAttribute.AttributeClass);
                    if (index < 0)
                    {
                        continue;
                    }

                    var kind = (MilterEvent)index;
                    CallbackModel? callback = ParseCallback(method, kind, known, diagnostics);
                    if (methods[index] is { } first)
                    {
                        blocked = true;
                        diagnostics.Add(DiagnosticInfo.Create(
                            DiagnosticDescriptors.DuplicateCallback,
                            LocationInfo.From(method),
                            typeName,
                            AttributeDisplay(kind),
                            first.Name,
                            method.Name));
                        continue;
                    }

                    methods[index] = method;
                    if (callback is null)
                    {
                        blocked = true;
                    }

                    callbacks[index] = callback;
                }
            }

            if (rejectedRecipients && methods[(int)MilterEvent.RcptTo] is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.RejectedRecipientsWithoutRcpt, classLocation, typeName));
                rejectedRecipients = false;
            }

            uint actions = ScanEditorUse(type, typeName, known, context.SemanticModel, diagnostics, cancellationToken);
            EquatableArray<DiagnosticInfo> reported = diagnostics.Distinct().ToEquatableArray();
            if (blocked)
            {
                return new FilterParseResult(null, classLocation, reported);
            }

            IMethodSymbol? body = methods[(int)MilterEvent.Body];
            bool bodySkips = body is not null
                && callbacks[(int)MilterEvent.Body] is { Observes: false }
                && FindVerdictUses(body, "Skip", known, context.SemanticModel, cancellationToken).Count > 0;

            string sanitized = SanitizeIdentifier(typeName);
            string hint = SanitizeHintName(typeName);
            if (hint != typeName)
            {
                // Characters were replaced: a hash of the real name keeps two such names from colliding.
                string hash = StableHash(typeName);
                sanitized += "_" + hash;
                hint += "_" + hash;
            }

            uint protocol = DeriveProtocol(callbacks, bodySkips)
                | (rejectedRecipients ? (uint)ProtocolFlags.RejectedRecipients : 0)
                | (rawHeaderValues ? (uint)ProtocolFlags.HeaderLeadingSpace : 0);
            var filter = new FilterModel(
                name!,
                description,
                typeName,
                type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                type.Name + "Dispatcher",
                "Create_" + sanitized,
                hint + ".Milter.g.cs",
                callbacks.Where(static c => c is not null).Select(static c => c!).ToEquatableArray(),
                protocol,
                actions,
                CollectMacros(callbacks),
                settingsType,
                known.ResettableFilter is { } resettable && type.AllInterfaces.Contains(resettable, SymbolEqualityComparer.Default));
            return new FilterParseResult(filter, classLocation, reported);
        }

        /// <summary>A callback attribute on a method whose class has no [Milter] (or on a local function).</summary>
        public static EquatableArray<DiagnosticInfo> ParseOrphanCallback(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not IMethodSymbol method)
            {
                return EquatableArray<DiagnosticInfo>.Empty;
            }

            LocationInfo? location = LocationInfo.From(method);
            if (method.MethodKind == MethodKind.LocalFunction)
            {
                return new EquatableArray<DiagnosticInfo>(
                [
                    DiagnosticInfo.Create(DiagnosticDescriptors.InaccessibleCallback, location, method.Name, "a local function"),
                ]);
            }

            INamedTypeSymbol? type = method.ContainingType;
            if (type is null || HasMilterAttribute(type))
            {
                return EquatableArray<DiagnosticInfo>.Empty;
            }

            string attribute = context.Attributes[0].AttributeClass?.Name ?? "callback";
            if (attribute.EndsWith("Attribute", StringComparison.Ordinal))
            {
                attribute = attribute.Substring(0, attribute.Length - "Attribute".Length);
            }

            return new EquatableArray<DiagnosticInfo>(
            [
                DiagnosticInfo.Create(DiagnosticDescriptors.CallbackOutsideFilter, location, method.Name, attribute, type.ToDisplayString(s_typeNameFormat)),
            ]);
        }

        public static CompilationInfo ParseCompilation(Compilation compilation, CancellationToken cancellationToken)
        {
            string ns = KnownNames.GeneratedNamespace + "." + SanitizeIdentifier(compilation.AssemblyName ?? "Assembly");
            bool executable = compilation.Options.OutputKind is OutputKind.ConsoleApplication or OutputKind.WindowsApplication;
            bool hasAbstractions = compilation.GetTypeByMetadataName(KnownNames.MilterRegistration) is not null;
            if (!executable || !hasAbstractions)
            {
                return new CompilationInfo(ns, executable, hasAbstractions, EquatableArray<ReferencedCatalog>.Empty);
            }

            var catalogs = new List<ReferencedCatalog>();
            foreach (IAssemblySymbol assembly in compilation.SourceModule.ReferencedAssemblySymbols)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (AttributeData attribute in assembly.GetAttributes())
                {
                    if (!IsNamed(attribute.AttributeClass, KnownNames.MilterCatalogAttribute)
                        || attribute.ConstructorArguments.Length != 1
                        || attribute.ConstructorArguments[0].Value is not INamedTypeSymbol catalog)
                    {
                        continue;
                    }

                    string? names = catalog.GetMembers(KnownNames.CatalogFilterNames).OfType<IFieldSymbol>().FirstOrDefault()?.ConstantValue as string;
                    catalogs.Add(new ReferencedCatalog(
                        assembly.Name,
                        catalog.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                        (names ?? "").Split([' '], StringSplitOptions.RemoveEmptyEntries).ToEquatableArray()));
                }
            }

            catalogs.Sort(static (a, b) => string.CompareOrdinal(a.TypeName, b.TypeName));
            return new CompilationInfo(ns, executable, hasAbstractions, catalogs.ToEquatableArray());
        }

        /// <summary>Sorts the assembly's filters by name and leaves out (and reports) any whose name is taken.</summary>
        public static CatalogModel BuildCatalog(ImmutableArray<CatalogEntry> entries, string ns)
        {
            var kept = new List<CatalogEntry>(entries.Length);
            var diagnostics = new List<DiagnosticInfo>();
            IOrderedEnumerable<CatalogEntry> ordered = entries
                .OrderBy(static e => e.Name, StringComparer.Ordinal)
                .ThenBy(static e => e.TypeName, StringComparer.Ordinal);
            foreach (CatalogEntry entry in ordered)
            {
                if (kept.Count > 0 && kept[kept.Count - 1].Name == entry.Name)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.DuplicateFilterName,
                        entry.Location,
                        entry.Name,
                        "'" + kept[kept.Count - 1].TypeName + "'",
                        "'" + entry.TypeName + "'"));
                    continue;
                }

                kept.Add(entry);
            }

            return new CatalogModel(ns, kept.ToEquatableArray(), diagnostics.ToEquatableArray());
        }

        /// <summary>The executable's list: its own catalog first, then the referenced ones; names must be unique.</summary>
        public static LinkedModel BuildLinked(CompilationInfo compilation, CatalogModel catalog)
        {
            if (!compilation.IsExecutable || !compilation.HasAbstractions)
            {
                return new LinkedModel(false, EquatableArray<string>.Empty, EquatableArray<DiagnosticInfo>.Empty);
            }

            var types = new List<string>();
            var owners = new Dictionary<string, (string Owner, LocationInfo? Location)>(StringComparer.Ordinal);
            var diagnostics = new List<DiagnosticInfo>();
            if (!catalog.Entries.IsEmpty)
            {
                types.Add("global::" + catalog.Namespace + "." + KnownNames.CatalogClass);
                foreach (CatalogEntry entry in catalog.Entries)
                {
                    owners[entry.Name] = ("'" + entry.TypeName + "'", entry.Location);
                }
            }

            foreach (ReferencedCatalog reference in compilation.References)
            {
                types.Add(reference.TypeName);
                string owner = "assembly '" + reference.AssemblyName + "'";
                foreach (string name in reference.FilterNames)
                {
                    if (owners.TryGetValue(name, out (string Owner, LocationInfo? Location) first))
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateFilterName, first.Location, name, first.Owner, owner));
                        continue;
                    }

                    owners[name] = (owner, null);
                }
            }

            return new LinkedModel(true, types.ToEquatableArray(), diagnostics.ToEquatableArray());
        }

        private static CallbackModel? ParseCallback(IMethodSymbol method, MilterEvent kind, KnownTypes known, List<DiagnosticInfo> diagnostics)
        {
            LocationInfo? location = LocationInfo.From(method);
            bool ok = true;

            string? problem = FindMethodProblem(method);
            if (problem is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InaccessibleCallback, location, method.Name, problem));
                ok = false;
            }

            // Return type: Verdict or ValueTask<Verdict> decide, void or ValueTask observe; Abort and Close only observe.
            bool observes = false;
            bool isAsync = false;
            bool synchronous = false;
            bool observeOnly = kind is MilterEvent.Abort or MilterEvent.Close;
            bool byRef = method.ReturnsByRef || method.ReturnsByRefReadonly;
            if (method.ReturnType.TypeKind == TypeKind.Error)
            {
                ok = false;
            }
            else if (!byRef && method.ReturnsVoid && !method.IsAsync)
            {
                observes = true;
                synchronous = true;
            }
            else if (!byRef && known.IsValueTask(method.ReturnType))
            {
                observes = true;
                isAsync = true;
            }
            else if (!byRef && !observeOnly && SymbolEqualityComparer.Default.Equals(method.ReturnType, known.Verdict))
            {
                synchronous = true;
            }
            else if (!byRef && !observeOnly && known.IsValueTaskOfVerdict(method.ReturnType))
            {
                isAsync = true;
            }
            else
            {
                string returned = (method.ReturnsByRef ? "ref " : method.ReturnsByRefReadonly ? "ref readonly " : method.IsAsync ? "async " : "")
                    + method.ReturnType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.UnsupportedReturnType,
                    location,
                    AttributeDisplay(kind),
                    method.Name,
                    returned,
                    observeOnly ? "void or ValueTask" : "Verdict, void, ValueTask<Verdict> or ValueTask"));
                ok = false;
            }

            if (isAsync && method.IsAsync && !known.HasPoolingBuilder(method))
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.AsyncWithoutPooling,
                    location,
                    method.Name,
                    observes ? "PoolingAsyncValueTaskMethodBuilder" : "PoolingAsyncValueTaskMethodBuilder<>"));
            }

            // Parameters, bound by type, or by [Macro] to a macro's value.
            var parameters = new ParameterModel[method.Parameters.Length];
            var seen = new Dictionary<ParameterKind, IParameterSymbol>();
            var macros = new Dictionary<string, IParameterSymbol>(StringComparer.Ordinal);
            for (int i = 0; i < method.Parameters.Length; i++)
            {
                IParameterSymbol parameter = method.Parameters[i];
                if (parameter.Type.TypeKind == TypeKind.Error)
                {
                    ok = false;
                    continue;
                }

                if (known.MacroAttributeOf(parameter) is { } macro)
                {
                    ParameterModel? bound = ParseMacroParameter(method, kind, isAsync, parameter, macro, known, macros, diagnostics);
                    if (bound is null)
                    {
                        ok = false;
                        continue;
                    }

                    parameters[i] = bound;
                    continue;
                }

                ParameterKind? parameterKind = parameter.RefKind == RefKind.None ? known.Classify(parameter.Type) : null;
                if (parameterKind is not { } found || !IsAllowed(kind, found))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.UnsupportedParameter,
                        LocationInfo.From(parameter) ?? location,
                        parameter.Name,
                        ParameterTypeDisplay(parameter),
                        AttributeDisplay(kind),
                        method.Name,
                        AllowedTypes(kind, isAsync)));
                    ok = false;
                    continue;
                }

                if (isAsync && IsRefLike(found))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.SpanInAsyncCallback,
                        LocationInfo.From(parameter) ?? location,
                        parameter.Name,
                        ParameterTypeDisplay(parameter),
                        AttributeDisplay(kind),
                        method.Name,
                        IsAllowed(kind, ParameterKind.Text)
                            ? "take 'string' instead (" + TextDescription(kind) + "), or copy the data in a synchronous callback"
                            : "copy the data you need in a synchronous callback"));
                    ok = false;
                    continue;
                }

                if (seen.TryGetValue(found, out IParameterSymbol? earlier))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.DuplicateParameterType,
                        LocationInfo.From(parameter) ?? location,
                        AttributeDisplay(kind),
                        method.Name,
                        TypeDisplay(found),
                        earlier.Name,
                        parameter.Name));
                    ok = false;
                    continue;
                }

                if (found == ParameterKind.CancellationToken && synchronous)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.TokenInSynchronousCallback,
                        LocationInfo.From(parameter) ?? location,
                        AttributeDisplay(kind),
                        method.Name,
                        observes ? "void" : "Verdict",
                        parameter.Name));
                }

                seen.Add(found, parameter);
                parameters[i] = new ParameterModel(found);
            }

            return ok ? new CallbackModel(kind, EscapeIdentifier(method.Name), new EquatableArray<ParameterModel>(parameters), observes, isAsync) : null;
        }

        /// <summary>A [Macro] parameter: its name, its stage and its type; null (with diagnostics) when it cannot be bound.</summary>
        private static ParameterModel? ParseMacroParameter(
            IMethodSymbol method,
            MilterEvent kind,
            bool isAsync,
            IParameterSymbol parameter,
            AttributeData macro,
            KnownTypes known,
            Dictionary<string, IParameterSymbol> macros,
            List<DiagnosticInfo> diagnostics)
        {
            LocationInfo? location = LocationInfo.From(parameter) ?? LocationInfo.From(method);

            // [Macro] without its argument already fails to compile.
            if (macro.AttributeConstructor is null || macro.ConstructorArguments.Length != 1)
            {
                return null;
            }

            bool ok = true;
            string? given = macro.ConstructorArguments[0].Value as string;
            string? name = MacroTable.Normalize(given);
            if (name is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidMacroName, location, given ?? "", parameter.Name, method.Name));
                ok = false;
            }

            MacroStage? stage = MacroTable.StageOf(kind);
            if (stage is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.MacroWithoutStage,
                    location,
                    AttributeDisplay(kind),
                    method.Name,
                    name ?? given ?? "",
                    kind switch
                    {
                        MilterEvent.Unknown => "unknown commands",
                        MilterEvent.Abort => "an abort",
                        _ => "the end of a connection",
                    }));
                ok = false;
            }

            ParameterKind? bound = null;
            if (parameter.RefKind == RefKind.None && known.IsBytes(parameter.Type))
            {
                if (isAsync)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.SpanInAsyncCallback,
                        location,
                        parameter.Name,
                        ParameterTypeDisplay(parameter),
                        AttributeDisplay(kind),
                        method.Name,
                        "take the macro as 'string?' instead"));
                    ok = false;
                }
                else
                {
                    bound = ParameterKind.MacroBytes;
                }
            }
            else if (parameter.RefKind == RefKind.None && parameter.Type.SpecialType == SpecialType.System_String)
            {
                bound = parameter.NullableAnnotation == NullableAnnotation.NotAnnotated ? ParameterKind.MacroTextOrEmpty : ParameterKind.MacroText;
            }
            else
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.UnsupportedMacroParameter,
                    location,
                    parameter.Name,
                    AttributeDisplay(kind),
                    method.Name,
                    ParameterTypeDisplay(parameter),
                    isAsync ? "'string?' (null when absent) in an async callback" : "'ReadOnlySpan<byte>' (empty when absent) or 'string?' (null when absent)"));
                ok = false;
            }

            if (name is not null)
            {
                if (macros.TryGetValue(name, out IParameterSymbol? earlier))
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.DuplicateMacro,
                        location,
                        AttributeDisplay(kind),
                        method.Name,
                        name,
                        earlier.Name,
                        parameter.Name));
                    ok = false;
                }
                else
                {
                    macros.Add(name, parameter);
                }

                if (stage is not null && MacroTable.TryGetEarliest(name, out MilterEvent earliest, out string senders) && kind < earliest)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.MacroNotYetDefined,
                        location,
                        AttributeDisplay(kind),
                        method.Name,
                        name,
                        EventDisplay(earliest),
                        "it is first in " + senders + " default " + EventDisplay(earliest) + " macros"));
                }
            }

            return ok && bound is { } k ? new ParameterModel(k, name) : null;
        }

        /// <summary>Per stage, the macros the callbacks read through [Macro] parameters, sorted by stage and name.</summary>
        private static EquatableArray<MacroRequestModel> CollectMacros(CallbackModel?[] callbacks)
        {
            var stages = new SortedDictionary<MacroStage, SortedSet<string>>();
            foreach (CallbackModel? callback in callbacks)
            {
                if (callback is null || MacroTable.StageOf(callback.Kind) is not { } stage)
                {
                    continue;
                }

                foreach (ParameterModel parameter in callback.Parameters)
                {
                    if (parameter.MacroName is { } name)
                    {
                        if (!stages.TryGetValue(stage, out SortedSet<string>? names))
                        {
                            names = new SortedSet<string>(StringComparer.Ordinal);
                            stages.Add(stage, names);
                        }

                        names.Add(name);
                    }
                }
            }

            return stages.Select(static s => new MacroRequestModel(s.Key, s.Value.ToEquatableArray())).ToEquatableArray();
        }

        /// <summary>
        /// Collects the MessageEditor methods the class calls (its derived actions) and reports every place where the
        /// editor is handed to code outside the class, whose calls cannot be seen here.
        /// </summary>
        private static uint ScanEditorUse(
            INamedTypeSymbol type,
            string typeName,
            KnownTypes known,
            SemanticModel targetModel,
            List<DiagnosticInfo> diagnostics,
            CancellationToken cancellationToken)
        {
            if (known.MessageEditor is null)
            {
                return 0;
            }

            uint actions = 0;
            foreach (SyntaxReference reference in type.DeclaringSyntaxReferences)
            {
                SyntaxNode declaration = reference.GetSyntax(cancellationToken);
                SemanticModel model = ModelFor(declaration, targetModel);

                foreach (SyntaxNode node in declaration.DescendantNodes())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    switch (node)
                    {
                        case MemberAccessExpressionSyntax { Name: var name }:
                            actions |= InspectMember(node, name.Identifier.ValueText);
                            break;
                        case MemberBindingExpressionSyntax { Name: var name }:
                            actions |= InspectMember(node, name.Identifier.ValueText);
                            break;
                        case ArgumentSyntax argument:
                            InspectArgument(argument);
                            break;
                    }
                }

                uint InspectMember(SyntaxNode node, string memberName)
                {
                    if (model.GetSymbolInfo(node, cancellationToken).Symbol is not IMethodSymbol method)
                    {
                        return 0;
                    }

                    if (SymbolEqualityComparer.Default.Equals(method.ContainingType, known.MessageEditor))
                    {
                        return ActionOf(memberName, method.Parameters.Length);
                    }

                    // editor.Extension(): the editor is the receiver of a method defined elsewhere.
                    if (method.MethodKind == MethodKind.ReducedExtension
                        && SymbolEqualityComparer.Default.Equals(method.ReceiverType, known.MessageEditor))
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EditorEscapes, LocationInfo.From(node), typeName, MethodDisplay(method)));
                    }

                    return 0;
                }

                void InspectArgument(ArgumentSyntax argument)
                {
                    // Arguments of calls and object creations (not tuple elements or indexers).
                    if (argument.Parent is not ArgumentListSyntax
                        || !SymbolEqualityComparer.Default.Equals(model.GetTypeInfo(argument.Expression, cancellationToken).Type, known.MessageEditor))
                    {
                        return;
                    }

                    SyntaxNode? call = argument.Parent.Parent;
                    if (call is null || model.GetSymbolInfo(call, cancellationToken).Symbol is not IMethodSymbol target)
                    {
                        return; // nameof(editor), or code that does not compile
                    }

                    if (IsWithin(target.ContainingType, type) || SymbolEqualityComparer.Default.Equals(target.ContainingType, known.MessageEditor))
                    {
                        return;
                    }

                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EditorEscapes, LocationInfo.From(argument), typeName, MethodDisplay(target)));
                }
            }

            return actions;
        }

        private static uint ActionOf(string method, int parameterCount) => method switch
        {
            "AddHeader" or "InsertHeader" => (uint)ActionFlags.AddHeaders,
            "ChangeHeader" or "DeleteHeader" => (uint)ActionFlags.ChangeHeaders,
            "AddRecipient" => parameterCount == 1 ? (uint)ActionFlags.AddRecipient : (uint)ActionFlags.AddRecipientWithArgs,
            "DeleteRecipient" => (uint)ActionFlags.DeleteRecipient,
            "ReplaceBody" => (uint)ActionFlags.ChangeBody,
            "ChangeSender" => (uint)ActionFlags.ChangeSender,
            "Quarantine" => (uint)ActionFlags.Quarantine,
            _ => 0,
        };

        /// <summary>Where the callback's own code names <c>Verdict.{member}</c> (helpers it calls are not followed).</summary>
        private static List<LocationInfo?> FindVerdictUses(IMethodSymbol method, string member, KnownTypes known, SemanticModel targetModel, CancellationToken cancellationToken)
        {
            var found = new List<LocationInfo?>();
            foreach (SyntaxReference reference in method.DeclaringSyntaxReferences)
            {
                SyntaxNode declaration = reference.GetSyntax(cancellationToken);
                SemanticModel model = ModelFor(declaration, targetModel);
                foreach (SyntaxNode node in declaration.DescendantNodes())
                {
                    if (node is IdentifierNameSyntax identifier
                        && identifier.Identifier.ValueText == member
                        && model.GetSymbolInfo(node, cancellationToken).Symbol is IPropertySymbol property
                        && SymbolEqualityComparer.Default.Equals(property.ContainingType, known.Verdict))
                    {
                        found.Add(LocationInfo.From(node.Parent is MemberAccessExpressionSyntax access && access.Name == node ? access : node));
                    }
                }
            }

            return found;
        }

        private static SemanticModel ModelFor(SyntaxNode node, SemanticModel targetModel)
            => node.SyntaxTree == targetModel.SyntaxTree ? targetModel : targetModel.Compilation.GetSemanticModel(node.SyntaxTree);

        /// <summary>A skip bit for each event not handled, a no-reply bit for each handled one that returns void or ValueTask.</summary>
        private static uint DeriveProtocol(CallbackModel?[] callbacks, bool bodySkips)
        {
            uint bits = 0;
            bits |= Event(MilterEvent.Connect, (uint)ProtocolFlags.NoConnect, (uint)ProtocolFlags.NoReplyConnect);
            bits |= Event(MilterEvent.Helo, (uint)ProtocolFlags.NoHelo, (uint)ProtocolFlags.NoReplyHelo);
            bits |= Event(MilterEvent.MailFrom, (uint)ProtocolFlags.NoMail, (uint)ProtocolFlags.NoReplyMail);
            bits |= Event(MilterEvent.RcptTo, (uint)ProtocolFlags.NoRcpt, (uint)ProtocolFlags.NoReplyRcpt);
            bits |= Event(MilterEvent.Data, (uint)ProtocolFlags.NoData, (uint)ProtocolFlags.NoReplyData);
            bits |= Event(MilterEvent.Header, (uint)ProtocolFlags.NoHeaders, (uint)ProtocolFlags.NoReplyHeader);
            bits |= Event(MilterEvent.EndOfHeaders, (uint)ProtocolFlags.NoEndOfHeaders, (uint)ProtocolFlags.NoReplyEndOfHeaders);
            bits |= Event(MilterEvent.Body, (uint)ProtocolFlags.NoBody, (uint)ProtocolFlags.NoReplyBody);
            bits |= Event(MilterEvent.Unknown, (uint)ProtocolFlags.NoUnknown, (uint)ProtocolFlags.NoReplyUnknown);
            if (bodySkips)
            {
                bits |= (uint)ProtocolFlags.Skip;
            }

            return bits;

            uint Event(MilterEvent kind, uint skip, uint noReply)
                => callbacks[(int)kind] is not { } callback ? skip : callback.Observes ? noReply : 0;
        }

        private static string? FindClassProblem(INamedTypeSymbol type)
        {
            if (type.IsStatic)
            {
                return "it is static";
            }

            if (type.IsAbstract)
            {
                return "it is abstract";
            }

            if (type.TypeParameters.Length > 0)
            {
                return "it is generic";
            }

            if (type.IsFileLocal)
            {
                return "it is file-local";
            }

            if (!IsAccessible(type.DeclaredAccessibility))
            {
                return "it is " + AccessibilityDisplay(type.DeclaredAccessibility) + "; it must be public or internal";
            }

            for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.TypeParameters.Length > 0)
                {
                    return "it is nested in the generic type '" + outer.ToDisplayString(s_typeNameFormat) + "'";
                }

                if (!IsAccessible(outer.DeclaredAccessibility))
                {
                    return "it is nested in '" + outer.ToDisplayString(s_typeNameFormat) + "', which is " + AccessibilityDisplay(outer.DeclaredAccessibility);
                }
            }

            return null;
        }

        /// <summary>
        /// The constructor the dispatcher calls: one that takes only the filter's settings (a class T implementing
        /// IFilterSettings&lt;T&gt;), else one that needs no arguments. False, with the reason, when there is neither.
        /// </summary>
        private static bool FindConstructor(INamedTypeSymbol type, KnownTypes known, out string? settingsType, out string problem)
        {
            settingsType = null;
            problem = "";
            var settingsTypes = new List<ITypeSymbol>();
            bool parameterless = false;
            foreach (IMethodSymbol constructor in type.InstanceConstructors)
            {
                if (!IsAccessible(constructor.DeclaredAccessibility))
                {
                    continue;
                }

                if (constructor.Parameters.Length == 1
                    && constructor.Parameters[0] is { RefKind: RefKind.None, IsParams: false } only
                    && known.IsSettingsType(only.Type))
                {
                    settingsTypes.Add(only.Type);
                }
                else if (constructor.Parameters.All(static p => p.IsOptional || p.IsParams))
                {
                    parameterless = true;
                }
            }

            if (settingsTypes.Count == 1)
            {
                settingsType = settingsTypes[0].ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
                return true;
            }

            if (settingsTypes.Count > 1)
            {
                problem = "; it has " + settingsTypes.Count + " settings constructors ("
                    + string.Join(", ", settingsTypes.Select(static t => t.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)))
                    + "), keep one";
                return false;
            }

            return parameterless;
        }

        private static string? FindMethodProblem(IMethodSymbol method)
        {
            var problems = new List<string>();
            switch (method.MethodKind)
            {
                case MethodKind.Ordinary:
                    break;
                case MethodKind.ExplicitInterfaceImplementation:
                    problems.Add("an explicit interface implementation");
                    break;
                case MethodKind.PropertyGet or MethodKind.PropertySet or MethodKind.EventAdd or MethodKind.EventRemove or MethodKind.EventRaise:
                    problems.Add("an accessor");
                    break;
                default:
                    problems.Add("not an ordinary method");
                    break;
            }

            if (method.MethodKind == MethodKind.Ordinary && !IsAccessible(method.DeclaredAccessibility))
            {
                problems.Add(AccessibilityDisplay(method.DeclaredAccessibility));
            }

            if (method.IsStatic)
            {
                problems.Add("static");
            }

            if (method.IsGenericMethod)
            {
                problems.Add("generic");
            }

            return problems.Count == 0 ? null : string.Join(" and ", problems);
        }

        private static bool IsAccessible(Accessibility accessibility)
            => accessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal;

        private static string AccessibilityDisplay(Accessibility accessibility) => accessibility switch
        {
            Accessibility.Private => "private",
            Accessibility.Protected => "protected",
            Accessibility.ProtectedAndInternal => "private protected",
            Accessibility.ProtectedOrInternal => "protected internal",
            Accessibility.Internal => "internal",
            Accessibility.Public => "public",
            _ => "inaccessible",
        };

        /// <summary>MilterContext and CancellationToken are bound in every callback; the rest by <see cref="AllowedBeyondContext"/>.</summary>
        private static bool IsAllowed(MilterEvent callback, ParameterKind parameter)
            => parameter is ParameterKind.Context or ParameterKind.CancellationToken || Array.IndexOf(AllowedBeyondContext(callback), parameter) >= 0;

        private static ParameterKind[] AllowedBeyondContext(MilterEvent callback) => callback switch
        {
            MilterEvent.Connect => [ParameterKind.ConnectInfo],
            MilterEvent.Helo or MilterEvent.Unknown => [ParameterKind.Bytes, ParameterKind.Text],
            MilterEvent.Body => [ParameterKind.Bytes],
            MilterEvent.MailFrom or MilterEvent.RcptTo => [ParameterKind.EnvelopeAddress, ParameterKind.Text],
            MilterEvent.Header => [ParameterKind.HeaderField],
            MilterEvent.EndOfMessage => [ParameterKind.MessageEditor],
            _ => [],
        };

        /// <summary>The kinds that are ref structs, which an async callback cannot take.</summary>
        private static bool IsRefLike(ParameterKind parameter)
            => parameter is ParameterKind.Bytes or ParameterKind.ConnectInfo or ParameterKind.EnvelopeAddress or ParameterKind.HeaderField;

        private static string AllowedTypes(MilterEvent callback, bool isAsync)
        {
            var text = new StringBuilder(TypeDisplay(ParameterKind.Context)).Append(", ").Append(TypeDisplay(ParameterKind.CancellationToken));
            foreach (ParameterKind parameter in AllowedBeyondContext(callback))
            {
                if (!(isAsync && IsRefLike(parameter)))
                {
                    text.Append(", ").Append(TypeDisplay(parameter));
                }
            }

            return text.ToString();
        }

        private static string TypeDisplay(ParameterKind parameter) => parameter switch
        {
            ParameterKind.Context => "MilterContext",
            ParameterKind.ConnectInfo => "ConnectInfo",
            ParameterKind.Bytes => "ReadOnlySpan<byte>",
            ParameterKind.EnvelopeAddress => "EnvelopeAddress",
            ParameterKind.HeaderField => "HeaderField",
            ParameterKind.MessageEditor => "MessageEditor",
            ParameterKind.Text => "string",
            ParameterKind.CancellationToken => "CancellationToken",
            _ => parameter.ToString(),
        };

        /// <summary>What a string parameter of the callback receives.</summary>
        private static string TextDescription(MilterEvent callback) => callback switch
        {
            MilterEvent.Helo => "the HELO name",
            MilterEvent.Unknown => "the command line",
            _ => "the address without angle brackets",
        };

        private static string ParameterTypeDisplay(IParameterSymbol parameter)
            => (parameter.RefKind switch
            {
                RefKind.Ref => "ref ",
                RefKind.Out => "out ",
                RefKind.In => "in ",
                RefKind.RefReadOnlyParameter => "ref readonly ",
                _ => "",
            }) + parameter.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);

        private static string EventDisplay(MilterEvent kind) => kind switch
        {
            MilterEvent.Connect => "connect",
            MilterEvent.Helo => "HELO",
            MilterEvent.MailFrom => "MAIL FROM",
            MilterEvent.RcptTo => "RCPT TO",
            MilterEvent.Data => "DATA",
            MilterEvent.Header => "the headers",
            MilterEvent.EndOfHeaders => "end of headers",
            MilterEvent.Body => "the body",
            MilterEvent.EndOfMessage => "end of message",
            _ => kind.ToString(),
        };

        private static string AttributeDisplay(MilterEvent kind) => "[On" + kind + "]";

        private static string MethodDisplay(IMethodSymbol method)
        {
            string type = method.ContainingType?.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) ?? "?";
            return method.MethodKind == MethodKind.Constructor ? "new " + type : type + "." + method.Name;
        }

        private static bool IsWithin(INamedTypeSymbol? candidate, INamedTypeSymbol type)
        {
            for (INamedTypeSymbol? t = candidate?.OriginalDefinition; t is not null; t = t.ContainingType)
            {
                if (SymbolEqualityComparer.Default.Equals(t, type))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool HasMilterAttribute(INamedTypeSymbol type)
        {
            foreach (AttributeData attribute in type.GetAttributes())
            {
                if (IsNamed(attribute.AttributeClass, KnownNames.MilterAttribute))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool IsNamed(INamedTypeSymbol? type, string metadataName)
            => type is not null && type.ToDisplayString(s_typeNameFormat) == metadataName;

        /// <summary>Lower-case letters, digits, '-' and '_', starting with a letter.</summary>
        internal static bool IsValidFilterName(string? name)
        {
            if (name is null || name.Length == 0 || name[0] < 'a' || name[0] > 'z')
            {
                return false;
            }

            foreach (char c in name)
            {
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>"My.Filters-2" → "My_Filters_2": a valid identifier made of ASCII letters, digits and '_'.</summary>
        internal static string SanitizeIdentifier(string text)
        {
            var result = new StringBuilder(text.Length + 1);
            foreach (char c in text)
            {
                result.Append(IsAsciiLetterOrDigit(c) ? c : '_');
            }

            if (result.Length == 0 || (result[0] >= '0' && result[0] <= '9'))
            {
                result.Insert(0, '_');
            }

            return result.ToString();
        }

        private static string SanitizeHintName(string typeName)
        {
            var result = new StringBuilder(typeName.Length);
            foreach (char c in typeName)
            {
                result.Append(IsAsciiLetterOrDigit(c) || c == '.' ? c : '_');
            }

            return result.ToString();
        }

        /// <summary>FNV-1a over the UTF-16 code units, as 8 hex digits: the same on every machine and run.</summary>
        private static string StableHash(string text)
        {
            uint hash = 2166136261;
            foreach (char c in text)
            {
                hash = unchecked((hash ^ c) * 16777619);
            }

            return hash.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        }

        private static bool IsAsciiLetterOrDigit(char c)
            => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';

        private static string EscapeIdentifier(string name)
            => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
    }
}
