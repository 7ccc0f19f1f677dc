using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using System.Threading;
using AotMilter.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AotMilter.Generators;

public sealed partial class MilterGenerator
{
    /// <summary>Symbols in, models out. Nothing here keeps a symbol, syntax node or compilation past its return.</summary>
    internal static class Parser
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

            // [Milter("name", Description = "...")]
            AttributeData attribute = context.Attributes[0];
            string? name = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;
            string? description = null;
            foreach (KeyValuePair<string, TypedConstant> argument in attribute.NamedArguments)
            {
                if (argument.Key == "Description")
                {
                    description = argument.Value.Value as string;
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

            string? classProblem = FindClassProblem(type);
            if (classProblem is not null)
            {
                blocked = true;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedFilterClass, classLocation, typeName, classProblem));
            }
            else if (!HasParameterlessConstructor(type))
            {
                blocked = true;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NoParameterlessConstructor, classLocation, typeName));
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

                    var kind = (CallbackKind)index;
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

            uint actions = ScanEditorUse(type, typeName, known, context.SemanticModel, diagnostics, cancellationToken);
            if (blocked)
            {
                return new FilterParseResult(null, classLocation, diagnostics.ToEquatableArray());
            }

            IMethodSymbol? body = methods[(int)CallbackKind.Body];
            bool bodySkips = body is not null
                && callbacks[(int)CallbackKind.Body] is { ReturnsVoid: false }
                && ReferencesVerdictSkip(body, known, context.SemanticModel, cancellationToken);

            string sanitized = SanitizeIdentifier(typeName);
            string hint = SanitizeHintName(typeName);
            if (hint != typeName)
            {
                // Characters were replaced: a hash of the real name keeps two such names from colliding.
                string hash = StableHash(typeName);
                sanitized += "_" + hash;
                hint += "_" + hash;
            }

            var filter = new FilterModel(
                name!,
                description,
                typeName,
                type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                type.Name + "Dispatcher",
                "Create_" + sanitized,
                hint + ".Milter.g.cs",
                callbacks.Where(static c => c is not null).Select(static c => c!).ToEquatableArray(),
                DeriveProtocol(callbacks, bodySkips),
                actions);
            return new FilterParseResult(filter, classLocation, diagnostics.ToEquatableArray());
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

        private static CallbackModel? ParseCallback(IMethodSymbol method, CallbackKind kind, KnownTypes known, List<DiagnosticInfo> diagnostics)
        {
            LocationInfo? location = LocationInfo.From(method);
            bool ok = true;

            string? problem = FindMethodProblem(method);
            if (problem is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InaccessibleCallback, location, method.Name, problem));
                ok = false;
            }

            // Return type: Verdict or void; Abort and Close only void.
            bool returnsVoid = method.ReturnsVoid;
            bool voidOnly = kind is CallbackKind.Abort or CallbackKind.Close;
            if (method.ReturnType.TypeKind == TypeKind.Error)
            {
                ok = false;
            }
            else if (method.ReturnsByRef || method.ReturnsByRefReadonly
                || !(returnsVoid || (!voidOnly && SymbolEqualityComparer.Default.Equals(method.ReturnType, known.Verdict))))
            {
                string returned = (method.ReturnsByRef ? "ref " : method.ReturnsByRefReadonly ? "ref readonly " : "")
                    + method.ReturnType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.UnsupportedReturnType,
                    location,
                    AttributeDisplay(kind),
                    method.Name,
                    returned,
                    voidOnly ? "void" : "Verdict or void"));
                ok = false;
            }

            // Parameters, bound by type.
            var parameters = new ParameterKind[method.Parameters.Length];
            var seen = new Dictionary<ParameterKind, IParameterSymbol>();
            for (int i = 0; i < method.Parameters.Length; i++)
            {
                IParameterSymbol parameter = method.Parameters[i];
                if (parameter.Type.TypeKind == TypeKind.Error)
                {
                    ok = false;
                    continue;
                }

                ParameterKind? parameterKind = parameter.RefKind == RefKind.None ? known.Classify(parameter.Type) : null;
                if (parameterKind is not { } found || !IsAllowed(kind, found))
                {
                    string shown = (parameter.RefKind switch
                    {
                        RefKind.Ref => "ref ",
                        RefKind.Out => "out ",
                        RefKind.In => "in ",
                        RefKind.RefReadOnlyParameter => "ref readonly ",
                        _ => "",
                    }) + parameter.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.UnsupportedParameter,
                        LocationInfo.From(parameter) ?? location,
                        parameter.Name,
                        shown,
                        AttributeDisplay(kind),
                        method.Name,
                        AllowedTypes(kind)));
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

                seen.Add(found, parameter);
                parameters[i] = found;
            }

            return ok ? new CallbackModel(kind, EscapeIdentifier(method.Name), new EquatableArray<ParameterKind>(parameters), returnsVoid) : null;
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
                SemanticModel model = declaration.SyntaxTree == targetModel.SyntaxTree
                    ? targetModel
                    : targetModel.Compilation.GetSemanticModel(declaration.SyntaxTree);

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
            "AddHeader" or "InsertHeader" => MilterBits.AddHeaders,
            "ChangeHeader" or "DeleteHeader" => MilterBits.ChangeHeaders,
            "AddRecipient" => parameterCount == 1 ? MilterBits.AddRecipient : MilterBits.AddRecipientWithArgs,
            "DeleteRecipient" => MilterBits.DeleteRecipient,
            "ReplaceBody" => MilterBits.ChangeBody,
            "ChangeSender" => MilterBits.ChangeSender,
            "Quarantine" => MilterBits.Quarantine,
            _ => 0,
        };

        /// <summary>True when the body callback's own code names Verdict.Skip.</summary>
        private static bool ReferencesVerdictSkip(IMethodSymbol method, KnownTypes known, SemanticModel targetModel, CancellationToken cancellationToken)
        {
            foreach (SyntaxReference reference in method.DeclaringSyntaxReferences)
            {
                SyntaxNode declaration = reference.GetSyntax(cancellationToken);
                SemanticModel model = declaration.SyntaxTree == targetModel.SyntaxTree
                    ? targetModel
                    : targetModel.Compilation.GetSemanticModel(declaration.SyntaxTree);
                foreach (SyntaxNode node in declaration.DescendantNodes())
                {
                    if (node is IdentifierNameSyntax { Identifier.ValueText: "Skip" }
                        && model.GetSymbolInfo(node, cancellationToken).Symbol is IPropertySymbol property
                        && SymbolEqualityComparer.Default.Equals(property.ContainingType, known.Verdict))
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        /// <summary>A skip bit for each event not handled, a no-reply bit for each handled one that returns void.</summary>
        private static uint DeriveProtocol(CallbackModel?[] callbacks, bool bodySkips)
        {
            uint bits = 0;
            bits |= Event(CallbackKind.Connect, MilterBits.NoConnect, MilterBits.NoReplyConnect);
            bits |= Event(CallbackKind.Helo, MilterBits.NoHelo, MilterBits.NoReplyHelo);
            bits |= Event(CallbackKind.MailFrom, MilterBits.NoMail, MilterBits.NoReplyMail);
            bits |= Event(CallbackKind.RcptTo, MilterBits.NoRcpt, MilterBits.NoReplyRcpt);
            bits |= Event(CallbackKind.Data, MilterBits.NoData, MilterBits.NoReplyData);
            bits |= Event(CallbackKind.Header, MilterBits.NoHeaders, MilterBits.NoReplyHeader);
            bits |= Event(CallbackKind.EndOfHeaders, MilterBits.NoEndOfHeaders, MilterBits.NoReplyEndOfHeaders);
            bits |= Event(CallbackKind.Body, MilterBits.NoBody, MilterBits.NoReplyBody);
            bits |= Event(CallbackKind.Unknown, MilterBits.NoUnknown, MilterBits.NoReplyUnknown);
            if (bodySkips)
            {
                bits |= MilterBits.Skip;
            }

            return bits;

            uint Event(CallbackKind kind, uint skip, uint noReply)
                => callbacks[(int)kind] is not { } callback ? skip : callback.ReturnsVoid ? noReply : 0;
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

        private static bool HasParameterlessConstructor(INamedTypeSymbol type)
        {
            foreach (IMethodSymbol constructor in type.InstanceConstructors)
            {
                if (IsAccessible(constructor.DeclaredAccessibility)
                    && constructor.Parameters.All(static p => p.IsOptional || p.IsParams))
                {
                    return true;
                }
            }

            return false;
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

        private static bool IsAllowed(CallbackKind callback, ParameterKind parameter)
            => parameter == ParameterKind.Context || Array.IndexOf(AllowedBeyondContext(callback), parameter) >= 0;

        private static ParameterKind[] AllowedBeyondContext(CallbackKind callback) => callback switch
        {
            CallbackKind.Connect => [ParameterKind.ConnectInfo],
            CallbackKind.Helo or CallbackKind.Body or CallbackKind.Unknown => [ParameterKind.Bytes],
            CallbackKind.MailFrom or CallbackKind.RcptTo => [ParameterKind.EnvelopeAddress],
            CallbackKind.Header => [ParameterKind.HeaderField],
            CallbackKind.EndOfMessage => [ParameterKind.MessageEditor],
            _ => [],
        };

        private static string AllowedTypes(CallbackKind callback)
        {
            var text = new StringBuilder(TypeDisplay(ParameterKind.Context));
            foreach (ParameterKind parameter in AllowedBeyondContext(callback))
            {
                text.Append(", ").Append(TypeDisplay(parameter));
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
            _ => parameter.ToString(),
        };

        private static string AttributeDisplay(CallbackKind kind) => "[On" + kind + "]";

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
